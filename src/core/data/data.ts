// The data set of a task: all pairs (a, b) in [0, p)^2 where the task is defined, shuffled
// with Python's generator seeded by `seed` (so the split is the one of the paper's code),
// the first floor(frac * N) for training and the rest for testing.

import { MersenneTwister } from "./rng.js";
import type { Task } from "./tasks.js";
import type { Vocab } from "./vocab.js";

export const CONTEXT = 3;

/** Model inputs [a, op, b] and labels of one split. */
export interface Split {
  readonly n: number;
  readonly tokens: Int32Array; // [n, 3]
  readonly labels: Int32Array; // [n]
}

export interface Dataset {
  readonly train: Split;
  readonly test: Split;
}

export function buildDataset(task: Task, vocab: Vocab, frac: number, seed: number): Dataset {
  const p = vocab.p;
  const pairs: [number, number, number][] = [];
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const c = task.label(a, b, p);
      if (c !== undefined) pairs.push([a, b, c]);
    }
  }
  new MersenneTwister(seed).shuffle(pairs);
  const nTrain = Math.floor(frac * pairs.length);
  const op = vocab.inputToken(task);
  return { train: toSplit(pairs.slice(0, nTrain), op), test: toSplit(pairs.slice(nTrain), op) };
}

function toSplit(pairs: [number, number, number][], op: number): Split {
  const tokens = new Int32Array(pairs.length * CONTEXT);
  const labels = new Int32Array(pairs.length);
  pairs.forEach(([a, b, c], i) => {
    tokens.set([a, op, b], i * CONTEXT);
    labels[i] = c;
  });
  return { n: pairs.length, tokens, labels };
}
