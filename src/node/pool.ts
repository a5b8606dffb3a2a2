// A pool of worker threads sharing the core's memory: an Executor for Node (worker_threads
// + Comlink). The host engine uses the `shared` build over a shared memory; every worker
// instantiates the same compiled module over it.

import { wrap, type Remote } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Engine } from "../core/wasm/engine.js";
import type { Executor, KernelCall } from "../core/model/executor.js";
import { MAX_WORKERS } from "../core/model/fast.js";
import type { KernelWorker } from "../../workers/kernel.worker.js";
import { readWasm } from "./wasm.js";

const WORKER = new URL("../../workers/kernel.worker.js", import.meta.url);

/** Workers by default: one per core, at most one per shard. */
export const defaultWorkers = (): number => Math.max(1, Math.min(availableParallelism(), MAX_WORKERS));

export class WorkerPool implements Executor {
  private constructor(
    readonly engine: Engine,
    private readonly threads: Worker[],
    private readonly remotes: Remote<KernelWorker>[],
    /** The claim counter of the phase being run (shared with every worker). */
    private readonly counter: Int32Array,
  ) {}

  get workers(): number {
    return this.threads.length;
  }

  /** An engine on shared memory and `n` workers attached to it. */
  static async create(n: number): Promise<WorkerPool> {
    if (!Number.isInteger(n) || n < 2 || n > MAX_WORKERS) throw new RangeError(`a pool needs 2 to ${MAX_WORKERS} workers, got ${n}`);
    const module = await WebAssembly.compile(readWasm("shared"));
    const memory = Engine.sharedMemory();
    const engine = await Engine.create(module, memory);
    const threads = Array.from({ length: n }, () => new Worker(WORKER));
    const remotes = threads.map((t) => wrap<KernelWorker>(nodeEndpoint(t)));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    await Promise.all(remotes.map((r) => r.attach(module, memory, counter)));
    return new WorkerPool(engine, threads, remotes, counter);
  }

  /** Every worker claims calls from the list until none is left (so a slowed worker takes fewer). */
  async run(calls: readonly KernelCall[]): Promise<void> {
    Atomics.store(this.counter, 0, 0);
    await Promise.all(this.remotes.map((r) => r.run(calls)));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
