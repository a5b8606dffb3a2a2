// One step split over worker threads: the same numbers with 1, 2 or 3 workers (shards are a
// function of the batch alone, their partial gradients are added in shard order).

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../src/core/config.js";
import { ranges, deal } from "../src/core/executor.js";
import { formatMetrics, runTraining, Trainer } from "../src/core/train.js";
import { WorkerPool } from "../src/node/pool.js";
import { newEngine } from "./helpers.js";

const CONFIG = { p: "23", frac: "0.5", d_model: "32", n_heads: "4", d_head: "8", d_mlp: "64", steps: "30", eval_every: "10" };

async function run(workers: number): Promise<{ log: string; weights: Float32Array }> {
  const pool = workers > 1 ? await WorkerPool.create(workers) : undefined;
  try {
    const trainer = new Trainer(pool ? pool.engine : await newEngine(), resolveConfig(CONFIG), () => 0, pool);
    let log = "";
    await runTraining(trainer, { onEval: (m) => (log += formatMetrics(m)) });
    return { log, weights: trainer.model.engine.f32(trainer.model.params, trainer.model.layout.total).slice() };
  } finally {
    await pool?.close();
  }
}

test("training with 1, 2 or 3 workers gives byte-identical metrics and weights", async () => {
  const one = await run(1);
  for (const workers of [2, 3]) {
    const many = await run(workers);
    assert.equal(many.log, one.log, `${workers} workers: metrics differ`);
    assert.deepEqual(new Uint8Array(many.weights.buffer), new Uint8Array(one.weights.buffer), `${workers} workers: weights differ`);
  }
});

test("shards and reduction ranges cover their range exactly once, whatever the worker count", () => {
  for (const [n, parts] of [[2822, 8], [5, 8], [7, 3], [1, 1]] as const) {
    const r = ranges(n, parts);
    assert.equal(r[0]![0], 0);
    assert.equal(r.at(-1)![1], n);
    for (let i = 1; i < r.length; i++) assert.equal(r[i]![0], r[i - 1]![1]);
  }
  assert.deepEqual(deal([0, 1, 2, 3, 4], 2), [[0, 2, 4], [1, 3]]);
});
