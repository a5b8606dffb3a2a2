// Where kernel calls run. A step is cut into shards whose work is independent (each writes
// its own slice of activations and its own gradient partials); an Executor runs lists of
// kernel calls, one list per worker. LocalExecutor runs them in this thread; a worker pool
// (src/node/pool.ts) runs each list on a thread of its own over the same shared memory.
// Which worker runs what never changes a result: partials are added up in shard order.

import type { Engine, Kernels } from "./engine.js";

/** A kernel export and its (numeric) arguments. */
export type KernelCall = readonly [name: keyof Kernels, ...args: number[]];

export interface Executor {
  readonly workers: number;
  /** Runs lists[w] on worker w, each list in order; resolves when all are done. */
  run(lists: readonly (readonly KernelCall[])[]): Promise<void>;
}

/** Runs one kernel call on an engine. */
export function call(engine: Engine, [name, ...args]: KernelCall): void {
  (engine.k[name] as (...a: number[]) => unknown)(...args);
}

export class LocalExecutor implements Executor {
  readonly workers = 1;

  constructor(private readonly engine: Engine) {}

  async run(lists: readonly (readonly KernelCall[])[]): Promise<void> {
    for (const list of lists) for (const c of list) call(this.engine, c);
  }
}

/** Deals `items` out to `workers` lists, round robin. */
export function deal<T>(items: readonly T[], workers: number): T[][] {
  const lists: T[][] = Array.from({ length: workers }, () => []);
  items.forEach((item, i) => lists[i % workers]!.push(item));
  return lists;
}

/** [lo, hi) ranges cutting [0, n) into `parts` nearly equal pieces. */
export function ranges(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)] as [number, number]).filter(([lo, hi]) => hi > lo);
}
