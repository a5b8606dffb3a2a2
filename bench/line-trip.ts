// How far apart the two threads of a pool sit: the round trip of one cache line between this
// thread and a worker, each spinning on a shared counter and bumping it when it is its turn.
// The development VM (a Firecracker guest) has its two vCPUs placed anew by the host from time
// to time, and the round trip shows where: 440-520 ns on cores far apart (a 2-worker step's
// calls then take 1.07-1.25x as long as on one thread), 110-230 ns close by, either on two
// cores sharing a cache (the calls as fast as on one thread) or on the two threads of one core
// (the timeline's control, an independent run on the other vCPU, then slows a step 1.86-1.92x,
// and two workers gain nothing). So the bench prints it beside the steps it measured.

import { once } from "node:events";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { median } from "./median.js";

/** The median over `batches` of the mean ns of a round trip, `trips` round trips a batch. */
export async function lineRoundTripNs(batches = 9, trips = 20_000): Promise<number> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const echo = new Worker(new URL(import.meta.url), { workerData: { counter, turns: batches * trips } });
  await once(echo, "message"); // spinning
  const times: number[] = [];
  let value = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < trips; i++) {
      Atomics.store(counter, 0, ++value); // odd: the echo's turn
      while (Atomics.load(counter, 0) === value);
      value++;
    }
    times.push(((performance.now() - t0) * 1e6) / trips);
  }
  await once(echo, "exit");
  return median(times);
}

// The echo: answers each odd value with the next even one, `turns` times.
if (!isMainThread) {
  const { counter, turns } = workerData as { counter: Int32Array; turns: number };
  parentPort!.postMessage("spinning");
  for (let value = 1, n = 0; n < turns; n++, value += 2) {
    while (Atomics.load(counter, 0) !== value);
    Atomics.store(counter, 0, value + 1);
  }
}
