// Where kernel calls run. A step is cut into phases of independent kernel calls (each writes
// outputs of its own); an Executor runs a list of phases, one after the other. LocalExecutor
// runs them in this thread, in order; a worker pool (pool.ts) lets its threads claim each
// phase's calls one by one over the same shared memory, so a worker slowed by a neighbour
// simply claims fewer, and meet at a barrier between phases. Which worker runs what never
// changes a result.

import type { Engine, Kernels } from "../wasm/engine.js";

/** A kernel export and its (numeric) arguments. */
export type KernelCall = readonly [name: keyof Kernels, ...args: number[]];

/** Calls that may run in any order and on any thread (each writes outputs of its own). */
export type PhaseCalls = readonly KernelCall[];

export interface Executor {
  readonly workers: number;
  /** Runs the phases in order, every call of a phase once; resolves when the last is done. */
  run(phases: readonly PhaseCalls[]): Promise<void>;
  /** The same, and what each thread did in each phase ([phase][thread], for the benchmarks' timeline). */
  runTimed(phases: readonly PhaseCalls[]): Promise<ThreadTiming[][]>;
}

/**
 * What one thread did in a phase: when it claimed its first call and finished its last (ms
 * on a clock every thread shares: `performance.timeOrigin + performance.now()`), the time
 * inside kernel calls, and how many it ran.
 */
export interface ThreadTiming {
  start: number;
  end: number;
  busy: number;
  calls: number;
  /** [index in the phase's list, ms] of each call this thread ran. */
  each: [number, number][];
}

/** A clock that reads the same in every thread of a process. */
export const sharedClock = (): number => performance.timeOrigin + performance.now();

/** Runs one kernel call on an engine. */
export function call(engine: Engine, [name, ...args]: KernelCall): void {
  (engine.k[name] as (...a: number[]) => unknown)(...args);
}

export class LocalExecutor implements Executor {
  readonly workers = 1;

  constructor(private readonly engine: Engine) {}

  async run(phases: readonly PhaseCalls[]): Promise<void> {
    for (const calls of phases) for (const c of calls) call(this.engine, c);
  }

  async runTimed(phases: readonly PhaseCalls[]): Promise<ThreadTiming[][]> {
    return phases.map((calls) => [runClaimedTimed(this.engine, calls, new Int32Array(1), 0)]);
  }
}

/**
 * Runs calls claimed from counter `slot` of `sync` until none is left: every thread of a pool
 * runs this over the same list and counter (0 before), so each call runs exactly once.
 */
export function runClaimed(engine: Engine, calls: PhaseCalls, sync: Int32Array, slot: number): void {
  for (let i = Atomics.add(sync, slot, 1); i < calls.length; i = Atomics.add(sync, slot, 1)) call(engine, calls[i]!);
}

/** runClaimed, timing each call this thread runs. */
export function runClaimedTimed(engine: Engine, calls: PhaseCalls, sync: Int32Array, slot: number): ThreadTiming {
  const timing: ThreadTiming = { start: sharedClock(), end: 0, busy: 0, calls: 0, each: [] };
  for (let i = Atomics.add(sync, slot, 1); i < calls.length; i = Atomics.add(sync, slot, 1)) {
    const t0 = sharedClock();
    call(engine, calls[i]!);
    timing.end = sharedClock();
    timing.busy += timing.end - t0;
    timing.calls++;
    timing.each.push([i, timing.end - t0]);
  }
  if (timing.calls === 0) timing.end = timing.start;
  return timing;
}

/**
 * How long a thread at a barrier spins before it sleeps (ms). Waking a sleeping thread takes
 * 60-75 µs on the development VM, while the last worker of a phase is mostly less than one
 * call behind (a shard's call is ~1.3 ms): 1 ms instead of 0.25 took 0.25 ms off a step on
 * 2 workers; 2 ms gave nothing more.
 */
const SPIN_MS = 1;

/** What a thread waiting at a barrier throws when another thread of its pool has failed. */
export class PartyFailed extends Error {
  constructor() {
    super("another thread of the worker pool failed");
    this.name = "PartyFailed";
  }
}

/** A PartyFailed, here or from a worker (Comlink passes an error on by its name and message). */
export const isPartyFailed = (e: unknown): boolean => e instanceof Error && e.name === "PartyFailed";

/**
 * A barrier for `parties` threads, each calling this once on counter `slot` of `sync` (0
 * before): returns once all have arrived, or throws PartyFailed once counter `failed` is not
 * 0 (see failParties). It spins for SPIN_MS, then waits on the counter (worker threads may
 * block; a page's main thread never calls this).
 */
export function arriveAndWait(sync: Int32Array, slot: number, parties: number, failed: number): void {
  if (Atomics.add(sync, slot, 1) + 1 === parties) {
    Atomics.notify(sync, slot);
    return;
  }
  const deadline = performance.now() + SPIN_MS;
  while (performance.now() < deadline) {
    if (Atomics.load(sync, slot) === parties) return;
    if (Atomics.load(sync, failed) !== 0) throw new PartyFailed();
  }
  for (let seen = Atomics.load(sync, slot); seen !== parties; seen = Atomics.load(sync, slot)) {
    if (Atomics.load(sync, failed) !== 0) throw new PartyFailed();
    Atomics.wait(sync, slot, seen);
  }
}

/** Sets counter `failed` and wakes every thread waiting on one of `slots`: they throw PartyFailed. */
export function failParties(sync: Int32Array, failed: number, slots: readonly number[]): void {
  Atomics.store(sync, failed, 1);
  for (const slot of slots) Atomics.notify(sync, slot);
}

/** [lo, hi) ranges cutting [0, n) into `parts` nearly equal pieces. */
export function ranges(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as [number, number]).filter(([lo, hi]) => hi > lo);
}
