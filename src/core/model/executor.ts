// Where kernel calls run. A step is cut into phases of independent kernel calls (each writes
// outputs of its own); an Executor runs one phase's calls. LocalExecutor runs them in this
// thread, in order; a worker pool (src/node/pool.ts) lets its threads claim them one by one
// over the same shared memory, so a worker slowed by a neighbour simply claims fewer.
// Which worker runs what never changes a result.

import type { Engine, Kernels } from "../wasm/engine.js";

/** A kernel export and its (numeric) arguments. */
export type KernelCall = readonly [name: keyof Kernels, ...args: number[]];

export interface Executor {
  readonly workers: number;
  /** Runs every call once, in any order and on any thread (they must be independent); resolves when all are done. */
  run(calls: readonly KernelCall[]): Promise<void>;
  /** The same, and what each thread did (for the benchmarks' timeline). */
  runTimed(calls: readonly KernelCall[]): Promise<ThreadTiming[]>;
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

  async run(calls: readonly KernelCall[]): Promise<void> {
    for (const c of calls) call(this.engine, c);
  }

  async runTimed(calls: readonly KernelCall[]): Promise<ThreadTiming[]> {
    return [runClaimedTimed(this.engine, calls, new Int32Array(1))];
  }
}

/**
 * Runs calls claimed from a shared counter until none is left: every thread of a pool runs
 * this over the same list and counter (reset to 0 before), so each call runs exactly once.
 */
export function runClaimed(engine: Engine, calls: readonly KernelCall[], counter: Int32Array): void {
  for (let i = Atomics.add(counter, 0, 1); i < calls.length; i = Atomics.add(counter, 0, 1)) call(engine, calls[i]!);
}

/** runClaimed, timing each call this thread runs. */
export function runClaimedTimed(engine: Engine, calls: readonly KernelCall[], counter: Int32Array): ThreadTiming {
  const timing: ThreadTiming = { start: sharedClock(), end: 0, busy: 0, calls: 0, each: [] };
  for (let i = Atomics.add(counter, 0, 1); i < calls.length; i = Atomics.add(counter, 0, 1)) {
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

/** [lo, hi) ranges cutting [0, n) into `parts` nearly equal pieces. */
export function ranges(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as [number, number]).filter(([lo, hi]) => hi > lo);
}
