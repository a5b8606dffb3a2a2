// A pool of worker threads sharing the core's memory: an Executor for any host. The host's
// engine runs the `shared` build over a shared memory; every thread instantiates the same
// compiled module over it. The host hands the threads a whole list of phases in one message;
// for each phase they claim its kernel calls one by one from a counter they all share (a
// thread slowed by a neighbour claims fewer), then meet at a barrier before the next. Tensors
// never travel by message, and a step costs one round trip, not one per phase. Portable: the
// host spawns the threads (Node's worker_threads, a page's Web Workers) and hands over their
// Comlink remotes.

import type { Remote } from "comlink";
import { Engine } from "../wasm/engine.js";
import { arriveAndWait, runClaimed, runClaimedTimed, type Executor, type PhaseCalls, type ThreadTiming } from "./executor.js";
import { MAX_WORKERS } from "./fast.js";

/** Phases one run() may hold: each takes two counters of the shared sync array (claims, barrier). */
const MAX_PHASES = 32;

/** What a pool's thread does (exposed with Comlink by each host's worker entry). */
export function kernelWorker() {
  let attached: { engine: Engine; sync: Int32Array; parties: number } | undefined;
  const use = () => {
    if (!attached) throw new Error("worker used before attach()");
    return attached;
  };
  // Each phase's calls, claimed from counter 2p, then (but after the last) the barrier on 2p + 1.
  function eachPhase<T>(phases: readonly PhaseCalls[], run: (engine: Engine, calls: PhaseCalls, sync: Int32Array, slot: number) => T): T[] {
    const { engine, sync, parties } = use();
    return phases.map((calls, p) => {
      const result = run(engine, calls, sync, 2 * p);
      if (p + 1 < phases.length) arriveAndWait(sync, 2 * p + 1, parties);
      return result;
    });
  }
  return {
    async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, sync: Int32Array, parties: number): Promise<void> {
      attached = { engine: await Engine.create(module, memory), sync, parties };
    },
    run(phases: readonly PhaseCalls[]): void {
      eachPhase(phases, runClaimed);
    },
    runTimed(phases: readonly PhaseCalls[]): ThreadTiming[] {
      return eachPhase(phases, runClaimedTimed);
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
    /** The claim and barrier counters of the phases being run (shared with every thread). */
    private readonly sync: Int32Array,
  ) {}

  /** True while the threads run a list of phases (they share one set of counters). */
  private running = false;

  get workers(): number {
    return this.threads.length;
  }

  /** An engine on a new shared memory, running `module` (the shared build), and `n` threads from `spawn` attached to it. */
  static async create(n: number, module: WebAssembly.Module, spawn: () => PoolThread): Promise<WorkerPool> {
    if (!Number.isInteger(n) || n < 2 || n > MAX_WORKERS) throw new RangeError(`a pool needs 2 to ${MAX_WORKERS} workers, got ${n}`);
    const memory = Engine.sharedMemory();
    const engine = await Engine.create(module, memory);
    const threads = Array.from({ length: n }, spawn);
    const sync = new Int32Array(new SharedArrayBuffer(4 * 2 * MAX_PHASES));
    await Promise.all(threads.map((t) => t.remote.attach(module, memory, sync, n)));
    return new WorkerPool(engine, threads, sync);
  }

  /** Every thread claims each phase's calls until none is left, then waits for the others. */
  async run(phases: readonly PhaseCalls[]): Promise<void> {
    await this.exclusively(phases, () => Promise.all(this.threads.map((t) => t.remote.run(phases))));
  }

  async runTimed(phases: readonly PhaseCalls[]): Promise<ThreadTiming[][]> {
    const byThread = await this.exclusively(phases, () => Promise.all(this.threads.map((t) => t.remote.runTimed(phases))));
    return phases.map((_, p) => byThread.map((phasesOfThread) => phasesOfThread[p]!));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  // Zeroes the counters of `phases` and has the threads run them. A second list while one
  // runs would zero counters the threads are using (and deadlock them at a barrier): refused.
  private async exclusively<T>(phases: readonly PhaseCalls[], start: () => Promise<T>): Promise<T> {
    if (phases.length > MAX_PHASES) throw new RangeError(`a pool runs at most ${MAX_PHASES} phases at once, got ${phases.length}`);
    if (this.running) throw new Error("this worker pool is already running phases: await the previous run() before the next (a Trainer does this for its steps)");
    this.running = true;
    this.sync.fill(0, 0, 2 * phases.length);
    try {
      return await start();
    } finally {
      this.running = false;
    }
  }
}
