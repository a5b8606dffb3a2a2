// Memory that is given back: a run's buffers return to the engine when it is disposed, so a
// process that runs many runs (a sweep worker, a long-lived page) stops growing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../src/core/config.js";
import { analyze } from "../src/core/analysis.js";
import { Run } from "../src/core/run.js";
import { runTraining, Trainer } from "../src/core/train.js";
import { newEngine } from "./helpers.js";

const SMALL = { frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "4", eval_every: "2" };

test("50 runs in one engine (two sizes, both paths, with analysis): memory stops growing once each kind has run", async () => {
  const engine = await newEngine();
  const base = engine.used;
  const sizes: number[] = [], used: number[] = [];
  for (let i = 0; i < 50; i++) {
    const config = resolveConfig({ ...SMALL, p: i % 2 ? "13" : "11", seed: String(i), path: i % 5 === 4 ? "reference" : "fast" });
    const run = Run.assemble(engine, config);
    await runTraining(new Trainer(run));
    await analyze(run.model, config, run.vocab);
    run.dispose();
    sizes.push(engine.memory.buffer.byteLength);
    used.push(engine.used);
  }
  console.log(`  WebAssembly memory after runs 1, 10, 50: ${[sizes[0], sizes[9], sizes[49]].map((b) => `${(b! / 2 ** 20).toFixed(2)} MiB`).join(", ")}`);
  assert.ok(used.every((u) => u === base), "each run gives back everything it laid out");
  // Runs 1-10 are the four kinds (p 11 or 13, fast or reference) at least once; none after grows the memory.
  assert.ok(sizes.slice(10).every((s) => s === sizes[9]), `memory grew after the first ten runs: ${sizes.join(", ")}`);
});

test("a run lays out nothing outside its arena, and runs are released innermost first", async () => {
  const engine = await newEngine();
  const config = resolveConfig({ ...SMALL, p: "11" });
  const first = Run.assemble(engine, config);
  const afterFirst = engine.used;
  const second = Run.assemble(engine, config);
  assert.throws(() => first.dispose(), /released out of order.*release the later run first/);
  second.dispose();
  assert.equal(engine.used, afterFirst);
  first.dispose();
  first.dispose(); // a second dispose is harmless
  // Released memory is laid out again zeroed: a new run gives the same numbers as in a fresh engine.
  const again = Run.assemble(engine, config), fresh = Run.assemble(await newEngine(), config);
  for (const r of [again, fresh]) await runTraining(new Trainer(r, () => 0));
  assert.deepEqual(again.model.buffer("params").read(), fresh.model.buffer("params").read());
});
