// The worker pool on Node: worker_threads running workers/kernel.worker.js, over the
// `shared` build read from the package.

import { wrap } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { MAX_WORKERS } from "../core/model/fast.js";
import { WorkerPool, type KernelWorker } from "../core/model/pool.js";
import { readWasm } from "./wasm.js";

const WORKER = new URL("../../workers/kernel.worker.js", import.meta.url);

/** Workers by default: one per core, at most one per shard. */
export const defaultWorkers = (): number => Math.max(1, Math.min(availableParallelism(), MAX_WORKERS));

/** A pool of `n` threads sharing one engine's memory: this one and n - 1 worker threads. */
export async function createWorkerPool(n: number): Promise<WorkerPool> {
  return WorkerPool.create(n, await WebAssembly.compile(readWasm("shared")), () => {
    const worker = new Worker(WORKER);
    return { remote: wrap<KernelWorker>(nodeEndpoint(worker)), terminate: () => worker.terminate() };
  });
}
