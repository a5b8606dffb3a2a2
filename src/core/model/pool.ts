// A pool of worker threads sharing the core's memory: an Executor for any host. The host's
// engine runs the `shared` build over a shared memory; every thread instantiates the same
// compiled module over it and, for each parallel phase of a step, claims the phase's kernel
// calls one by one from a counter they all share (a thread slowed by a neighbour claims
// fewer). Tensors never travel by message. Portable: the host spawns the threads (Node's
// worker_threads, a page's Web Workers) and hands over their Comlink remotes.

import type { Remote } from "comlink";
import { Engine } from "../wasm/engine.js";
import { runClaimed, runClaimedTimed, type Executor, type KernelCall, type ThreadTiming } from "./executor.js";
import { MAX_WORKERS } from "./fast.js";

/** What a pool's thread does (exposed with Comlink by each host's worker entry). */
export function kernelWorker() {
  let attached: { engine: Engine; counter: Int32Array } | undefined;
  return {
    async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, counter: Int32Array): Promise<void> {
      attached = { engine: await Engine.create(module, memory), counter };
    },
    run(calls: readonly KernelCall[]): void {
      if (!attached) throw new Error("worker used before attach()");
      runClaimed(attached.engine, calls, attached.counter);
    },
    runTimed(calls: readonly KernelCall[]): ThreadTiming {
      if (!attached) throw new Error("worker used before attach()");
      return runClaimedTimed(attached.engine, calls, attached.counter);
    },
  };
}

export type KernelWorker = ReturnType<typeof kernelWorker>;

/** A thread of the pool, as the host spawned it. */
export interface PoolThread {
  remote: Remote<KernelWorker>;
  terminate(): unknown;
}

export class WorkerPool implements Executor {
  private constructor(
    readonly engine: Engine,
    private readonly threads: PoolThread[],
    /** The claim counter of the phase being run (shared with every thread). */
    private readonly counter: Int32Array,
  ) {}

  get workers(): number {
    return this.threads.length;
  }

  /** An engine on a new shared memory, running `module` (the shared build), and `n` threads from `spawn` attached to it. */
  static async create(n: number, module: WebAssembly.Module, spawn: () => PoolThread): Promise<WorkerPool> {
    if (!Number.isInteger(n) || n < 2 || n > MAX_WORKERS) throw new RangeError(`a pool needs 2 to ${MAX_WORKERS} workers, got ${n}`);
    const memory = Engine.sharedMemory();
    const engine = await Engine.create(module, memory);
    const threads = Array.from({ length: n }, spawn);
    const counter = new Int32Array(new SharedArrayBuffer(4));
    await Promise.all(threads.map((t) => t.remote.attach(module, memory, counter)));
    return new WorkerPool(engine, threads, counter);
  }

  /** Every thread claims calls from the list until none is left. */
  async run(calls: readonly KernelCall[]): Promise<void> {
    Atomics.store(this.counter, 0, 0);
    await Promise.all(this.threads.map((t) => t.remote.run(calls)));
  }

  async runTimed(calls: readonly KernelCall[]): Promise<ThreadTiming[]> {
    Atomics.store(this.counter, 0, 0);
    return Promise.all(this.threads.map((t) => t.remote.runTimed(calls)));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
