// The timeline's control: a one-thread training run of the default config in a worker thread,
// on its own memory, stepping while flag 0 of the shared array it is given is 1, asleep while
// it is 0, ended at 2. Beside a measured run it loads the other core as much as a pool's
// second worker does, while sharing no data with it. It counts its steps in slot 1 and their
// time in slot 2 (µs), so the host can set the other core's speed beside its own.

import { parentPort, workerData } from "node:worker_threads";
import { DEFAULTS } from "../src/core/config.js";
import { Run } from "../src/core/run.js";
import { Trainer } from "../src/core/train.js";
import { loadEngine } from "../src/node/wasm.js";

const flag = workerData as Int32Array;
const trainer = new Trainer(Run.assemble(await loadEngine(), DEFAULTS));
await trainer.trainStep(); // compiled and warm before it reports ready
parentPort!.postMessage("ready");
for (let state = Atomics.load(flag, 0); state !== 2; state = Atomics.load(flag, 0)) {
  if (state === 1) {
    const t0 = performance.now();
    await trainer.trainStep();
    Atomics.add(flag, 2, Math.round((performance.now() - t0) * 1000));
    Atomics.add(flag, 1, 1);
  }
  else Atomics.wait(flag, 0, 0);
}
trainer.run.dispose();
