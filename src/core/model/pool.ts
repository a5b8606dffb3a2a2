// A pool of threads sharing the core's memory: an Executor for any host. The host's engine
// runs the `shared` build over a shared memory; every worker thread instantiates the same
// compiled module over it. The host hands the workers a whole list of phases at once and takes
// part itself: for each phase every thread claims its kernel calls one by one from a counter
// they all share (a thread slowed by a neighbour claims fewer), then they meet at a barrier
// before the next, and after the last. Tensors never travel by message, and a training step,
// the same few lists of phases again and again, needs no message at all: a worker keeps the
// last MAX_LISTS lists it was sent, lingers after each run, and the host rings it on a shared
// counter (the doorbell) with the number of the list to run when it keeps that one; a new
// list goes by message. Nobody waits for a reply: the host starts claiming calls while the
// workers wake, and learns they are done at the last barrier. So a pool of n threads spawns
// n - 1, and its host thread must be allowed to block (Node's, a worker's; not a page's main
// thread). Portable: the host spawns the threads (Node's worker_threads, a page's Web
// Workers) and hands over their Comlink remotes.

import type { Remote } from "comlink";
import { Engine } from "../wasm/engine.js";
import { arriveAndWait, failParties, isPartyFailed, runClaimed, runClaimedTimed, type Executor, type PhaseCalls, type ThreadTiming } from "./executor.js";
import { MAX_WORKERS } from "./fast.js";
import { MAX_TIMED_CALLS, TimingBoard } from "./timing-board.js";

/** Phases one run() may hold: each takes two counters of the shared sync array (claims, barrier). */
const MAX_PHASES = 32;
/**
 * Runs take turns between two sets of counters, so a run can zero its set while the workers
 * may still be reading the one before (past its barriers, on their way out): the host does not
 * wait for them.
 */
const SETS = 2;
/** The counter after the sets: not 0 once a thread has failed, so that no other waits for it. */
const FAILED = SETS * 2 * MAX_PHASES;
const BARRIERS = Array.from({ length: SETS * MAX_PHASES }, (_, p) => 2 * p + 1);
/**
 * The first counter of the run the doorbell starts (its `base`), which kept list it is, and
 * whether it is timed (1: each worker logs its calls on its TimingBoard).
 */
const BASE = FAILED + 1;
const LIST = BASE + 1;
const TIMED = LIST + 1;
/** Each worker thread's state (below), from this counter on: where the host rings it. */
const STATES = TIMED + 1;
/** Lists of phases a worker keeps: a training step's, its AdamW update's, two evaluations'. */
const MAX_LISTS = 4;

/** Where a worker thread is, in its state counter. */
const enum State {
  /** Between lists, listening for messages: a new list needs one. */
  Idle = 0,
  /** Running a list. */
  Running = 1,
  /** Done with a list and waiting for the host to ring for it again. */
  Lingering = 2,
  /** Rung: run kept list LIST again, from counter BASE. */
  Rung = 3,
}

/**
 * How long a worker lingers after a list before it goes back to its messages (ms): long
 * enough to cover what a trainer does between two runs (checking the loss, a log line, an
 * evaluation's bookkeeping), short enough that a pool left alone soon listens again. It spins for
 * the first LINGER_SPIN_MS (a wake from Atomics.wait costs 60-75 µs on the development VM),
 * then sleeps.
 */
const LINGER_MS = 100;
const LINGER_SPIN_MS = 1;

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

// A worker thread after a list (state counter `state`): true once the host rings it for a
// kept list, false once LINGER_MS pass or the host sets it Idle (a new list is coming by
// message).
function linger(sync: Int32Array, state: number): boolean {
  Atomics.store(sync, state, State.Lingering);
  const start = performance.now();
  for (;;) {
    const now = performance.now(), seen = Atomics.load(sync, state);
    if (seen === State.Rung) {
      Atomics.store(sync, state, State.Running);
      return true;
    }
    if (seen !== State.Lingering) return false;
    if (now - start < LINGER_SPIN_MS) continue;
    if (now - start >= LINGER_MS || Atomics.wait(sync, state, State.Lingering, LINGER_MS - (now - start)) === "timed-out") {
      // unless the host rang just now
      if (Atomics.compareExchange(sync, state, State.Lingering, State.Idle) === State.Lingering) return false;
    }
  }
}

// How a worker runs its calls: claimed, and in a timed run also logged on its board (each
// phase's record written before the thread arrives at the phase's barrier).
function workerClaimer(board: TimingBoard, timed: boolean): Claimer<unknown> {
  if (!timed) return runClaimed;
  board.clear();
  return (engine, calls, sync, slot) => board.write((slot % (2 * MAX_PHASES)) >> 1, runClaimedTimed(engine, calls, sync, slot));
}

/** What a pool's worker thread does (exposed with Comlink by each host's worker entry). */
export function kernelWorker() {
  let attached: (Parties & { state: number; board: TimingBoard }) | undefined;
  const kept: (readonly PhaseCalls[])[] = [];
  const use = () => {
    if (!attached) throw new Error("worker used before attach()");
    return attached;
  };
  return {
    async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, sync: Int32Array, parties: number, index: number, board: Float64Array): Promise<void> {
      attached = { engine: await Engine.create(module, memory), sync, parties, state: STATES + index, board: new TimingBoard(board, MAX_PHASES) };
    },
    /**
     * Keeps the phases as list `list` and runs them from counter `base`, then, each time the
     * host rings, kept list LIST from counter BASE (timed when TIMED says so).
     */
    run(phases: readonly PhaseCalls[], base: number, list: number): void {
      const me = use();
      Atomics.store(me.sync, me.state, State.Running);
      kept[list] = phases;
      try {
        for (;;) {
          eachPhase(me, kept[list]!, base, workerClaimer(me.board, Atomics.load(me.sync, TIMED) === 1));
          if (!linger(me.sync, me.state)) return;
          [base, list] = [Atomics.load(me.sync, BASE), Atomics.load(me.sync, LIST)];
        }
      } finally {
        Atomics.store(me.sync, me.state, State.Idle);
      }
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
    /** The claim and barrier counters of the phases being run, the doorbell's base and the workers' states (shared with every thread). */
    private readonly sync: Int32Array,
    /** Where each worker thread logs its calls in a timed run. */
    private readonly boards: TimingBoard[],
  ) {}

  /** True while the threads run a list of phases. */
  private running = false;
  /** The set of counters of the latest run (they take turns). */
  private set = 0;
  /** The lists every worker keeps (each was sent to all of them by message), by number. */
  private readonly kept: (readonly PhaseCalls[])[] = [];
  /** Their numbers, the least recently run first. */
  private readonly recency: number[] = [];
  /** Each worker's reply to its latest run() message: it settles when the worker stops lingering. */
  private readonly replies: Promise<void>[] = [];
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
    const sync = new Int32Array(new SharedArrayBuffer(4 * (STATES + threads.length)));
    const boards = threads.map(() => TimingBoard.create(MAX_PHASES));
    await Promise.all(threads.map((t, k) => t.remote.attach(module, memory, sync, n, k, boards[k]!.shared)));
    return new WorkerPool(engine, threads, sync, boards);
  }

  /**
   * Every thread claims each phase's calls until none is left, then waits for the others.
   * Resolves once this thread is past the last barrier, when every thread is done: the
   * workers' replies are not waited for (the next run uses the other set of counters).
   */
  async run(phases: readonly PhaseCalls[]): Promise<void> {
    if (phases.length === 0) return; // (with no barrier to wait at, a worker could still be on its way to it)
    await this.exclusively(phases, (base) => this.alongside(phases, base, false, runClaimed));
  }

  // The number of the kept list that `phases` are (`again`), or of the one they replace, the
  // least recently run, which every worker is then sent.
  private keep(phases: readonly PhaseCalls[]): { list: number; again: boolean } {
    let list = this.kept.findIndex((kept) => kept === phases || samePhases(kept, phases));
    const again = list >= 0;
    if (!again) {
      list = this.kept.length < MAX_LISTS ? this.kept.length : this.recency[0]!;
      this.kept[list] = phases;
    }
    const at = this.recency.indexOf(list);
    if (at >= 0) this.recency.splice(at, 1);
    this.recency.push(list);
    return { list, again };
  }

  /**
   * run(), timing every call on every thread: started and ended as run() is (rung, or sent),
   * each worker logging on its board what this thread reads after the last barrier.
   */
  async runTimed(phases: readonly PhaseCalls[]): Promise<ThreadTiming[][]> {
    const calls = phases.reduce((n, p) => n + p.length, 0);
    if (calls > MAX_TIMED_CALLS) throw new RangeError(`a timed run logs at most ${MAX_TIMED_CALLS} calls, got ${calls}`);
    if (phases.length === 0) return [];
    // The boards are read before another run may start (and the workers clear them).
    const [mine, theirs] = await this.exclusively(phases, async (base) => [await this.alongside(phases, base, true, runClaimedTimed), this.boards.map((board) => board.read(phases.length))] as const);
    return phases.map((_, p) => [mine[p]!, ...theirs.map((worker) => worker[p]!)]);
  }

  // Worker k keeps `phases` as list `list` and runs them from counter `base`, by message (after
  // lingering, if it does); an error in its reply is kept for the next run.
  private send(k: number, phases: readonly PhaseCalls[], base: number, list: number): Promise<void> {
    this.dismiss(k);
    const reply = this.threads[k]!.remote.run(phases, base, list);
    reply.catch((e: unknown) => (this.lateFailure ??= e));
    return (this.replies[k] = reply);
  }

  // True if worker k, lingering, was rung to run kept list LIST (from BASE).
  private ring(k: number): boolean {
    return this.wake(k, State.Rung);
  }

  // Worker k, if lingering, back to its messages.
  private dismiss(k: number): void {
    this.wake(k, State.Idle);
  }

  // Worker k, if lingering, woken into state `to`: false if it was not lingering, or stopped
  // just now (a lingering worker leaves that state only for Idle, by itself).
  private wake(k: number, to: State.Rung | State.Idle): boolean {
    const state = STATES + k;
    if (this.settled(k) !== State.Lingering || Atomics.compareExchange(this.sync, state, State.Lingering, to) !== State.Lingering) return false;
    Atomics.notify(this.sync, state);
    return true;
  }

  // Worker k's state once it is not Running: between runs a worker is Running only on its way
  // from the last barrier to lingering (or out, after an error), a few µs.
  private settled(k: number): State {
    for (;;) {
      const seen = Atomics.load(this.sync, STATES + k) as State;
      if (seen !== State.Running && seen !== State.Rung) return seen;
    }
  }

  // Rings the workers for `phases` where they keep it, else sends it to them, and runs this
  // thread's share with `claim`: its results, phase by phase. The workers' replies are not
  // waited for (one that rejects all the same is kept for the next run to throw).
  private async alongside<R>(phases: readonly PhaseCalls[], base: number, timed: boolean, claim: Claimer<R>): Promise<R[]> {
    const { list, again } = this.keep(phases);
    Atomics.store(this.sync, LIST, list);
    Atomics.store(this.sync, TIMED, timed ? 1 : 0);
    const pending = this.threads.map((_, k) => (again && this.ring(k) ? this.replies[k]! : this.send(k, phases, base, list)));
    try {
      return eachPhase({ engine: this.engine, sync: this.sync, parties: this.workers }, phases, base, claim);
    } catch (e) {
      // The error of the thread that failed, not the others' PartyFailed: reported here, so
      // not again by the next run.
      const errors = (await Promise.allSettled(pending)).flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      this.lateFailure = undefined;
      throw [e, ...errors].find((x) => !isPartyFailed(x)) ?? e;
    }
  }

  /** Sends the threads back to their messages and ends them. */
  async close(): Promise<void> {
    if (!this.running) this.threads.forEach((_, k) => this.dismiss(k));
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
    Atomics.store(this.sync, BASE, base);
    try {
      return await start(base);
    } finally {
      this.running = false;
    }
  }
}

/** True when two lists of phases hold the same calls, with the same arguments, in the same order. */
function samePhases(a: readonly PhaseCalls[], b: readonly PhaseCalls[]): boolean {
  return a.length === b.length && a.every((calls, p) => calls.length === b[p]!.length && calls.every((c, i) => c.length === b[p]![i]!.length && c.every((x, j) => x === b[p]![i]![j])));
}
