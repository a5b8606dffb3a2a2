// The data set of a run: all pairs (a, b) in [0, p)^2 where every task is defined, shuffled
// with Python's generator seeded by `seed` (so the split is the one of the paper's code),
// the first floor(frac * N) for training and the rest for testing. A mixture uses the same
// pairs for every task: a split holds each task's examples in turn (task-major segments),
// each with the task's own middle token.

import { MersenneTwister } from "./rng.js";
import type { Task } from "./tasks.js";
import type { Vocab } from "./vocab.js";

export const CONTEXT = 3;

/** The rows [start, start + n) of a split that belong to one task. */
export interface Segment {
  readonly task: string;
  readonly start: number;
  readonly n: number;
}

/** Model inputs [a, op, b] and labels of one split, task by task. */
export interface Split {
  readonly n: number;
  readonly tokens: Int32Array; // [n, 3]
  readonly labels: Int32Array; // [n]
  readonly segments: readonly Segment[];
}

export interface Dataset {
  readonly train: Split;
  readonly test: Split;
}

export function buildDataset(tasks: readonly Task[], vocab: Vocab, frac: number, seed: number): Dataset {
  const p = vocab.p;
  const pairs: [number, number][] = [];
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) if (tasks.every((t) => t.label(a, b, p) !== undefined)) pairs.push([a, b]);
  }
  new MersenneTwister(seed).shuffle(pairs);
  const nTrain = Math.floor(frac * pairs.length);
  return { train: toSplit(pairs.slice(0, nTrain), tasks, vocab), test: toSplit(pairs.slice(nTrain), tasks, vocab) };
}

function toSplit(pairs: [number, number][], tasks: readonly Task[], vocab: Vocab): Split {
  const n = pairs.length * tasks.length;
  const tokens = new Int32Array(n * CONTEXT);
  const labels = new Int32Array(n);
  const segments = tasks.map((task, j) => {
    const start = j * pairs.length, op = vocab.inputToken(task);
    pairs.forEach(([a, b], i) => {
      tokens.set([a, op, b], (start + i) * CONTEXT);
      labels[start + i] = task.label(a, b, vocab.p)!;
    });
    return { task: task.name, start, n: pairs.length };
  });
  return { n, tokens, labels, segments };
}
