// The seeded generator and the data split: bit-for-bit Python's random module, so the split
// is the paper code's (the golden fixtures hold its train and test tokens).

import { test } from "node:test";
import assert from "node:assert/strict";
import { buildDataset } from "../src/core/data/data.js";
import { Vocab } from "../src/core/data/vocab.js";
import { MersenneTwister } from "../src/core/data/rng.js";
import { resolveTask, resolveTasks } from "../src/core/data/tasks.js";
import { fixtureSplit } from "./helpers.js";

test("MersenneTwister gives CPython's random.getrandbits(32) sequence", () => {
  // python3 -c "import random; random.seed(0); print([random.getrandbits(32) for _ in range(3)])"
  const r = new MersenneTwister(0);
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32()], [3626764237, 1654615998, 3255389356]);
  // random.seed(2**32 + 5): a seed of two 32-bit words
  const big = new MersenneTwister(2n ** 32n + 5n);
  assert.deepEqual([big.nextU32(), big.nextU32()], [675479763, 2085189291]);
});

test("the split of (a+b) mod p equals the PyTorch reference's, train and test, for p = 11 and 97", () => {
  for (const [fixture, p, frac] of [["tiny", 11, 0.5], ["full", 97, 0.3]] as const) {
    const data = buildDataset([resolveTask("add")], new Vocab(p), frac, 0);
    for (const which of ["train", "test"] as const) {
      const want = fixtureSplit(fixture, which);
      assert.equal(data[which].n, want.n);
      assert.deepEqual(data[which].tokens, want.tokens, `${fixture} ${which} tokens`);
      assert.deepEqual(data[which].labels, want.labels, `${fixture} ${which} labels`);
    }
  }
});

test("the split is a partition of all pairs, train first floor(frac*N), and depends on the seed", () => {
  const p = 13;
  const d0 = buildDataset([resolveTask("mul")], new Vocab(p), 0.37, 4);
  assert.equal(d0.train.n, Math.floor(0.37 * p * p));
  assert.equal(d0.train.n + d0.test.n, p * p);
  const seen = new Set<number>();
  for (const s of [d0.train, d0.test]) {
    for (let i = 0; i < s.n; i++) {
      const [a, op, b] = s.tokens.subarray(3 * i, 3 * i + 3);
      assert.equal(op, p + 3, "the '*' token");
      assert.equal(s.labels[i], (a! * b!) % p);
      seen.add(a! * p + b!);
    }
  }
  assert.equal(seen.size, p * p);
  assert.deepEqual(buildDataset([resolveTask("mul")], new Vocab(p), 0.37, 4).train.tokens, d0.train.tokens);
  assert.notDeepEqual(buildDataset([resolveTask("mul")], new Vocab(p), 0.37, 5).train.tokens, d0.train.tokens);
});

test("division leaves out b = 0 and uses the '/' token", () => {
  const p = 7;
  const d = buildDataset([resolveTask("div")], new Vocab(p), 0.5, 0);
  assert.equal(d.train.n + d.test.n, p * (p - 1));
  for (let i = 0; i < d.train.n; i++) {
    const [a, op, b] = d.train.tokens.subarray(3 * i, 3 * i + 3);
    assert.equal(op, p + 4);
    assert.notEqual(b, 0);
    assert.equal((d.train.labels[i]! * b!) % p, a, "label * b = a mod p");
  }
});

test("a mixture's split is the PyTorch reference's: the same pairs for every task, each with its own operator token", () => {
  const tasks = resolveTasks("add,sub,mul");
  const vocab = Vocab.forTasks(11, tasks);
  assert.equal(vocab.size, 16, "add, sub and mul use their own operators: no task tokens");
  const data = buildDataset(tasks, vocab, 0.5, 0);
  for (const which of ["train", "test"] as const) {
    const want = fixtureSplit("mixture", which);
    assert.deepEqual(data[which].segments, want.segments);
    assert.deepEqual(data[which].tokens, want.tokens, `${which} tokens`);
    assert.deepEqual(data[which].labels, want.labels, `${which} labels`);
  }
});

test("polynomials in one mixture get a task token each; a single task keeps the paper's vocabulary", () => {
  const tasks = resolveTasks("a^2+b^2,a^2+ab+b^2,(a+b)^2");
  const vocab = Vocab.forTasks(13, tasks);
  assert.equal(vocab.size, 13 + 5 + 3);
  assert.deepEqual(tasks.map((t) => vocab.label(vocab.inputToken(t))), ["<a2+b2>", "<a2+ab+b2>", "<sum2>"]);
  const { train } = buildDataset(tasks, vocab, 0.5, 0);
  assert.deepEqual(train.segments.map((s) => train.tokens[s.start * 3 + 1]), [18, 19, 20]);
  assert.equal(Vocab.forTasks(13, resolveTasks("a^2+b^2")).size, 18);
  assert.equal(Vocab.forTasks(13, resolveTasks("add,ab+b")).size, 18, "one polynomial beside elementary operations keeps '='");
});

test("a mixture with division keeps the pairs every member defines", () => {
  const tasks = resolveTasks("add,div");
  const { train, test: held } = buildDataset(tasks, Vocab.forTasks(7, tasks), 0.5, 0);
  assert.equal(train.n + held.n, 2 * 7 * 6);
  for (let i = 0; i < train.n; i++) assert.notEqual(train.tokens[3 * i + 2], 0);
});
