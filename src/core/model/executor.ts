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
}

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
}

/**
 * Runs calls claimed from a shared counter until none is left: every thread of a pool runs
 * this over the same list and counter (reset to 0 before), so each call runs exactly once.
 */
export function runClaimed(engine: Engine, calls: readonly KernelCall[], counter: Int32Array): void {
  for (let i = Atomics.add(counter, 0, 1); i < calls.length; i = Atomics.add(counter, 0, 1)) call(engine, calls[i]!);
}

/** [lo, hi) ranges cutting [0, n) into `parts` nearly equal pieces. */
export function ranges(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as [number, number]).filter(([lo, hi]) => hi > lo);
}
