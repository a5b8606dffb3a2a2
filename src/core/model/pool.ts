// A pool of threads sharing the core's memory: an Executor for any host. The host's engine
// runs the `shared` build over a shared memory; every worker thread instantiates the same
// compiled module over it. The host hands the workers a whole list of phases in one message
// and takes part itself: for each phase every thread claims its kernel calls one by one from a
// counter they all share (a thread slowed by a neighbour claims fewer), then they meet at a
// barrier before the next, and after the last. Tensors never travel by message, a step costs
// one message each way, and neither waits on the host: it starts claiming calls while the
// message wakes the workers, and it learns they are done at the last barrier, not from their
// replies. So a pool of n threads spawns n - 1, and its host thread must be allowed to block
// (Node's, a worker's; not a page's main thread). Portable: the host spawns the threads (Node's
// worker_threads, a page's Web Workers) and hands over their Comlink remotes.

import type { Remote } from "comlink";
import { Engine } from "../wasm/engine.js";
import { arriveAndWait, failParties, isPartyFailed, runClaimed, runClaimedTimed, type Executor, type PhaseCalls, type ThreadTiming } from "./executor.js";
import { MAX_WORKERS } from "./fast.js";

/** Phases one run() may hold: each takes two counters of the shared sync array (claims, barrier). */
const MAX_PHASES = 32;
/**
 * Runs take turns between two sets of counters, so a run can zero its set while the workers'
 * replies to the one before are still on their way (they are past its barriers, out of the
 * other set): the host does not wait for them.
 */
const SETS = 2;
/** The counter after the sets: not 0 once a thread has failed, so that no other waits for it. */
const FAILED = SETS * 2 * MAX_PHASES;
const BARRIERS = Array.from({ length: SETS * MAX_PHASES }, (_, p) => 2 * p + 1);

/** How one thread runs the calls it claims from counter `slot` of `sync`: runClaimed, or runClaimedTimed. */
type Claimer<T> = (engine: Engine, calls: PhaseCalls, sync: Int32Array, slot: number) => T;

/** The threads taking part in a list of phases: an engine each over one memory, the shared counters, how many. */
interface Parties {
  engine: Engine;
  sync: Int32Array;
  parties: number;
}

// Each phase's calls, claimed from counter base + 2p, then the barrier on base + 2p + 1
// (after the last phase too: a thread returns once every thread is done). A thread whose call
// throws wakes the others out of their barriers before it rethrows.
function eachPhase<T>({ engine, sync, parties }: Parties, phases: readonly PhaseCalls[], base: number, claim: Claimer<T>): T[] {
  try {
    return phases.map((calls, p) => {
      const result = claim(engine, calls, sync, base + 2 * p);
      arriveAndWait(sync, base + 2 * p + 1, parties, FAILED);
      return result;
    });
  } catch (e) {
    if (!isPartyFailed(e)) failParties(sync, FAILED, BARRIERS);
    throw e;
  }
}

/** What a pool's worker thread does (exposed with Comlink by each host's worker entry). */
export function kernelWorker() {
  let attached: Parties | undefined;
  const use = () => {
    if (!attached) throw new Error("worker used before attach()");
    return attached;
  };
  return {
    async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, sync: Int32Array, parties: number): Promise<void> {
      attached = { engine: await Engine.create(module, memory), sync, parties };
    },
    run(phases: readonly PhaseCalls[], base: number): void {
      eachPhase(use(), phases, base, runClaimed);
    },
    runTimed(phases: readonly PhaseCalls[], base: number): ThreadTiming[] {
      return eachPhase(use(), phases, base, runClaimedTimed);
    },
  };
}

export type KernelWorker = ReturnType<typeof kernelWorker>;

// A pool's host thread waits at its barriers: refused where a thread may not block (a page's
// main thread, where Atomics.wait throws whatever the values).
function assertMayBlock(): void {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    throw new Error("a worker pool runs part of every step on the thread that creates it, which waits at barriers (Atomics.wait): create it in a worker (or on Node), not on a page's main thread");
  }
}

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

  /** True while the threads run a list of phases. */
  private running = false;
  /** The set of counters of the latest run (they take turns). */
  private set = 0;
  /** A worker's error that reached its reply after the host had finished that run, for the next. */
  private lateFailure: unknown;

  /** The threads that share a step: this one and the spawned ones. */
  get workers(): number {
    return this.threads.length + 1;
  }

  /**
   * An engine on a new shared memory, running `module` (the shared build), and the n - 1
   * threads from `spawn` attached to it that share each step with this one.
   */
  static async create(n: number, module: WebAssembly.Module, spawn: () => PoolThread): Promise<WorkerPool> {
    if (!Number.isInteger(n) || n < 2 || n > MAX_WORKERS) throw new RangeError(`a pool needs 2 to ${MAX_WORKERS} workers, got ${n}`);
    assertMayBlock();
    const memory = Engine.sharedMemory();
    const engine = await Engine.create(module, memory);
    const threads = Array.from({ length: n - 1 }, spawn);
    const sync = new Int32Array(new SharedArrayBuffer(4 * (FAILED + 1)));
    await Promise.all(threads.map((t) => t.remote.attach(module, memory, sync, n)));
    return new WorkerPool(engine, threads, sync);
  }

  /**
   * Every thread claims each phase's calls until none is left, then waits for the others.
   * Resolves once this thread is past the last barrier, when every thread is done: the
   * workers' replies are not waited for (the next run uses the other set of counters).
   */
  async run(phases: readonly PhaseCalls[]): Promise<void> {
    await this.exclusively(phases, (base) => this.alongside((t) => t.remote.run(phases, base), (me) => void eachPhase(me, phases, base, runClaimed), false));
  }

  async runTimed(phases: readonly PhaseCalls[]): Promise<ThreadTiming[][]> {
    const byThread = await this.exclusively(phases, (base) => this.alongside((t) => t.remote.runTimed(phases, base), (me) => eachPhase(me, phases, base, runClaimedTimed), true));
    return phases.map((_, p) => byThread.map((phasesOfThread) => phasesOfThread[p]!));
  }

  // Starts the workers, does this thread's share, and gives every thread's result, this one's
  // first (with `replies`: the workers' too, waited for; else only this one's, and a worker's
  // reply that rejects all the same is kept for the next run to throw).
  private async alongside<R>(start: (t: PoolThread) => Promise<R>, here: (me: Parties) => R, replies: boolean): Promise<R[]> {
    const pending = this.threads.map(start);
    try {
      const mine = here({ engine: this.engine, sync: this.sync, parties: this.workers });
      if (replies) return [mine, ...(await Promise.all(pending))];
      pending.forEach((reply) => reply.catch((e: unknown) => (this.lateFailure ??= e)));
      return [mine];
    } catch (e) {
      // The error of the thread that failed, not the others' PartyFailed.
      const errors = (await Promise.allSettled(pending)).flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      throw [e, ...errors].find((x) => !isPartyFailed(x)) ?? e;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  // Zeroes the other set of counters for `phases` and has the threads run them from its first
  // counter (`base`). A second list while one runs would zero counters the threads are using
  // (and deadlock them at a barrier): refused. So is any list after a worker's late error.
  private async exclusively<T>(phases: readonly PhaseCalls[], start: (base: number) => Promise<T>): Promise<T> {
    if (phases.length > MAX_PHASES) throw new RangeError(`a pool runs at most ${MAX_PHASES} phases at once, got ${phases.length}`);
    if (this.running) throw new Error("this worker pool is already running phases: await the previous run() before the next (a Trainer does this for its steps)");
    if (this.lateFailure !== undefined) throw this.lateFailure;
    this.running = true;
    this.set = (this.set + 1) % SETS;
    const base = this.set * 2 * MAX_PHASES;
    this.sync.fill(0, base, base + 2 * phases.length);
    Atomics.store(this.sync, FAILED, 0);
    try {
      return await start(base);
    } finally {
      this.running = false;
    }
  }
}
