// One step split over worker threads: the same numbers with 1, 2 or 3 workers (every call of
// a phase writes outputs of its own, cut by the batch size and constants alone).

import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../src/core/config.js";
import { ranges, runClaimed, type KernelCall } from "../src/core/model/executor.js";
import type { Region } from "../src/core/wasm/region.js";
import { gatherOrder, lastTokenOrder, type FastPath, type PhaseTiming } from "../src/core/model/fast.js";
import { formatMetrics, runTraining, Trainer } from "../src/core/train.js";
import { Run } from "../src/core/run.js";
import { WorkerPool, type KernelWorker } from "../src/core/model/pool.js";
import { MAX_TIMED_CALLS } from "../src/core/model/timing-board.js";
import { createWorkerPool } from "../src/node/pool.js";
import { readWasm } from "../src/node/wasm.js";
import { wrap, type Remote } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { Worker } from "node:worker_threads";
import { newEngine } from "./helpers.js";

const CONFIG = { p: "23", frac: "0.5", d_model: "32", n_heads: "4", d_head: "8", d_mlp: "64", steps: "30", eval_every: "10" };

async function run(workers: number, config: Record<string, string> = CONFIG): Promise<{ log: string; weights: Float32Array }> {
  const pool = workers > 1 ? await createWorkerPool(workers) : undefined;
  try {
    const run = Run.assemble(pool ? pool.engine : await newEngine(), resolveConfig(config), { executor: pool });
    let log = "";
    await runTraining(new Trainer(run, () => 0), { onEval: (m) => (log += formatMetrics(m)) });
    return { log, weights: run.model.buffer("params").read() };
  } finally {
    await pool?.close();
  }
}

for (const [what, config] of [["one task", CONFIG], ["a mixture of add, sub, mul and two polynomials", { ...CONFIG, task: "add,sub,mul,a^2+b^2,(a+b)^2" }]] as const) {
  test(`training ${what} with 1, 2 or 3 workers gives byte-identical metrics and weights`, async () => {
    const one = await run(1, config);
    for (const workers of [2, 3]) {
      const many = await run(workers, config);
      assert.equal(many.log, one.log, `${workers} workers: metrics differ`);
      assert.deepEqual(new Uint8Array(many.weights.buffer), new Uint8Array(one.weights.buffer), `${workers} workers: weights differ`);
    }
  });
}

test("a timed step (the benchmarks' timeline) gives lossAndGrad's gradients, and each phase's calls are run once across the workers", async () => {
  const pool = await createWorkerPool(2);
  try {
    const config = resolveConfig(CONFIG);
    const gradsOf = async (timed: boolean): Promise<{ grads: Uint8Array; timings: PhaseTiming[] }> => {
      const run = Run.assemble(pool.engine, config, { executor: pool });
      const path = run.path as FastPath;
      const timings = timed ? await path.timedLossAndGrad(run.train) : (await path.lossAndGrad(run.train), []);
      const grads = new Uint8Array(run.model.buffer("grads").read().buffer.slice(0));
      run.dispose();
      return { grads, timings };
    };
    const plain = await gradsOf(false), timed = await gradsOf(true);
    assert.deepEqual(timed.grads, plain.grads);
    assert.deepEqual(timed.timings.map((t) => t.phase), ["tables forward: embedding", "tables forward: attention heads, W_outᵀ W_U", "tables forward: P, U", "shards: forward, loss, d pre, d attn", "table gradients: dP, dU, dWLT", "tables backward: MLP side", "tables backward: attention heads", "tables backward: embedding"]);
    for (const t of timed.timings) {
      assert.equal(t.threads.length, t.where === "workers" ? 2 : 1);
      for (const th of t.threads) assert.ok(t.start <= th.start && th.start <= th.end && th.end <= t.end + 1 && th.busy <= th.end - th.start + 1e-6, t.phase);
    }
    assert.equal(timed.timings[2]!.threads.reduce((a, th) => a + th.calls, 0), 8, "P, U: 8 row ranges between the two workers");
    for (const t of timed.timings) {
      // every call of the phase timed once, by the thread that ran it (the worker's from its board)
      const indices = t.threads.flatMap((th) => (assert.equal(th.each.length, th.calls, t.phase), th.each.map(([i]) => i))).sort((x, y) => x - y);
      assert.deepEqual(indices, indices.map((_, i) => i), t.phase);
    }
  } finally {
    await pool.close();
  }
});

test("steps and evaluations asked for without awaiting run one at a time, in order: the awaited run's numbers; a pool refuses a second run of phases while one runs", async () => {
  const config = resolveConfig(CONFIG);
  const inOrder = async (pool?: Awaited<ReturnType<typeof createWorkerPool>>, overlap = false): Promise<string> => {
    const trainer = new Trainer(Run.assemble(pool ? pool.engine : await newEngine(), config, { executor: pool }), () => 0);
    const asks = [() => trainer.trainStep(), () => trainer.trainStep(), () => trainer.evaluate(), () => trainer.trainStep(), () => trainer.evaluate()];
    if (overlap) return JSON.stringify(await Promise.all(asks.map((ask) => ask())));
    const out: unknown[] = [];
    for (const ask of asks) out.push(await ask());
    return JSON.stringify(out);
  };
  const awaited = await inOrder();
  assert.equal(await inOrder(undefined, true), awaited, "1 thread");
  const pool = await createWorkerPool(2);
  try {
    assert.equal(await inOrder(pool, true), awaited, "2 workers");
    const phase: KernelCall[] = [["exp_rows", pool.engine.alloc("f32", 1).ptr, pool.engine.alloc("f32", 1).ptr, 1]];
    const first = pool.run([phase]);
    await assert.rejects(pool.run([phase]), /already running phases: await the previous run\(\)/);
    await first;
  } finally {
    await pool.close();
  }
});

test("a call that traps on either thread of a pool rejects the run with its error, no thread left waiting, and the pool runs on", async () => {
  const pool = await createWorkerPool(2);
  try {
    const big = pool.engine.alloc("f32", 1 << 22), out = pool.engine.alloc("f32", 2);
    const long: KernelCall = ["exp_rows", big.ptr, big.ptr, 1 << 22]; // a few ms
    const outside = pool.engine.memory.buffer.byteLength + 4096;
    const trap: KernelCall = ["dot", 16, outside, outside];
    // This thread starts first and claims the first call: the trap (its own failure) or the
    // long call, leaving the trap to the worker.
    for (const first of [[trap, long], [long, trap]]) {
      await assert.rejects(pool.run([first, [["exp_rows", out.ptr, out.ptr, 1]]]), /out of bounds/);
    }
    // the failed runs stopped at their first phase: out is still 0, then e^0, then e^1
    await pool.run([[["exp_rows", out.ptr, out.ptr, 2]], [["exp_rows", out.ptr, out.ptr, 2]]]);
    for (const x of out.view()) assert.ok(Math.abs(x - Math.E) < 1e-6, `${x}`);
  } finally {
    await pool.close();
  }
});

test("a list the workers keep rings them instead of a message; a new list, or one after they stopped lingering, goes by message; they keep the 4 latest; every call runs once each time", { timeout: 30_000 }, async () => {
  let messages = 0;
  const pool = await WorkerPool.create(3, await WebAssembly.compile(readWasm("shared")), () => {
    const worker = new Worker(new URL("../workers/kernel.worker.js", import.meta.url));
    const remote = wrap<KernelWorker>(nodeEndpoint(worker));
    const counted = { attach: remote.attach, run: (...args: Parameters<KernelWorker["run"]>) => (messages++, remote.run(...args)) };
    return { remote: counted as unknown as Remote<KernelWorker>, terminate: () => worker.terminate() };
  });
  try {
    // Each call adds 1 to the float it names (a 1 x 1 product accumulated), once per run.
    const a = pool.engine.alloc("f32", 6), b = pool.engine.alloc("f32", 4), one = pool.engine.alloc("f32", 1);
    one.write([1]);
    const count = (r: Region<"f32">, i: number): KernelCall => ["gemm_nn", 1, 1, 1, one.ptr, 1, one.ptr, 1, r.at(i).ptr, 1, 1];
    const step = (): KernelCall[][] => [0, 3].map((from) => [0, 1, 2].map((i) => count(a, from + i))); // two phases, equal each time, not the same object
    const single = (i: number): KernelCall[][] => [[count(b, i)]];
    const [other, third, fourth, fifth] = [single(0), single(1), single(2), single(3)];
    const runs = async (lists: KernelCall[][][], sent: number, what: string, timed = false): Promise<void> => {
      const before = messages;
      for (const list of lists) await (timed ? pool.runTimed(list) : pool.run(list));
      assert.equal(messages - before, sent, what);
    };
    await runs([step(), step(), step()], 2, "one message to each of the 2 worker threads, then the doorbell");
    await runs([other], 2, "a new list by message");
    await runs([step()], 0, "a kept list rings");
    await runs([third, fourth, fifth], 6, "three more new lists: the latest 4 are kept");
    await runs([other], 2, "the least recently run list is the one dropped");
    await runs([third], 0, "");
    await new Promise((resolve) => setTimeout(resolve, 250)); // longer than the workers linger
    await runs([third], 2, "after lingering, the workers listen for messages again");
    await runs([step(), step()], 2, "a timed run is sent, then rung, as any other", true);
    await assert.rejects(pool.runTimed([Array.from({ length: MAX_TIMED_CALLS + 1 }, () => count(b, 0))]), /a timed run logs at most 4096 calls, got 4097/);
    await runs([third], 0, "and the workers linger after it");
    // a list refused while another runs is not kept
    const running = pool.run(third);
    await assert.rejects(pool.run([[count(b, 3)], [count(b, 3)]]), /already running phases/);
    await running;
    await runs([[[count(b, 3)], [count(b, 3)]]], 2, "the refused list, asked for again, goes by message");
    assert.deepEqual([...a.view()], Array(6).fill(6), "the step's floats: 3 + 1 runs, and the two timed ones");
    assert.deepEqual([...b.view()], [2, 5, 1, 3], "other, third, fourth, fifth (+ 2 for the list refused, then run)");
  } finally {
    await pool.close();
  }
});

test("a pool is refused, with the reason, where its thread may not block (a page's main thread, where Atomics.wait throws)", async () => {
  const wait = Atomics.wait;
  Atomics.wait = () => {
    throw new TypeError("Atomics.wait cannot be called in this context");
  };
  try {
    await assert.rejects(createWorkerPool(2), /waits at barriers \(Atomics\.wait\): create it in a worker \(or on Node\), not on a page's main thread/);
  } finally {
    Atomics.wait = wait;
  }
  const pool = await createWorkerPool(2); // and made where it may
  await pool.close();
});

test("threads claiming calls from one counter run each call exactly once", async () => {
  const engine = await newEngine();
  const out = engine.alloc("f32", 10);
  const calls: KernelCall[] = Array.from({ length: 10 }, (_, i) => ["exp_rows", out.at(i).ptr, out.at(i).ptr, 1]);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  runClaimed(engine, calls, counter, 0); // this thread claims all ...
  runClaimed(engine, calls, counter, 0); // ... so a second claimer finds none left
  assert.deepEqual([...out.view()], Array(10).fill(1), "e^0 = 1 once; a second run would give e^1");
});

test("the gather order takes every (example, position) once, grouped by token in token order, in batch order within a token; the last-token order its pairs at the last position", async () => {
  const run = Run.assemble(await newEngine(), resolveConfig({ ...CONFIG, task: "add,sub,mul,a^2+b^2" }));
  const split = run.train.examples;
  const order = [...gatherOrder(split)];
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: split.n * 3 }, (_, j) => ((Math.floor(j / 3) << 2) | j % 3)), "every (example, position) once");
  const token = (item: number): number => split.tokens[(item >> 2) * 3 + (item & 3)]!;
  for (let j = 1; j < order.length; j++) {
    const [prev, item] = [order[j - 1]!, order[j]!];
    assert.ok(token(prev) < token(item) || (token(prev) === token(item) && prev < item), `pair ${j}: token ${token(prev)} then ${token(item)}`);
  }
  // the last-token order: every example once, grouped by its last token in token order, in batch order within a token
  const last = [...lastTokenOrder(gatherOrder(split))], lastToken = (b: number): number => split.tokens[b * 3 + 2]!;
  assert.deepEqual([...last].sort((x, y) => x - y), Array.from({ length: split.n }, (_, b) => b), "every example once");
  for (let j = 1; j < last.length; j++) {
    const [prev, b] = [last[j - 1]!, last[j]!];
    assert.ok(lastToken(prev) < lastToken(b) || (lastToken(prev) === lastToken(b) && prev < b), `example ${j}: last token ${lastToken(prev)} then ${lastToken(b)}`);
  }
  run.dispose();
});

for (const n_heads of ["4", "5"]) test(`the table gradients dP and dU are plain float32 sums over each token's (example, position) pairs in batch order, byte for byte (${n_heads} heads)`, async () => {
  const engine = await newEngine();
  const run = Run.assemble(engine, resolveConfig({ ...CONFIG, n_heads, task: "add,sub,mul,a^2+b^2" }));
  const path = run.path as FastPath, batch = run.train;
  run.model.zeroGrad();
  await path.lossAndGrad(batch);
  const { d_vocab: dv, d_mlp: dmlp, n_heads: H } = run.model.dims;
  const tokens = batch.examples.tokens, attn = batch.field("attn").view();
  const table = (name: "dP" | "dU", width: number): Float32Array => {
    const ptr = path.tables.view()[engine.layout("Tables").offsets[name]! / 4]!;
    return new Float32Array(engine.memory.buffer, ptr, (1 + H) * dv * width).slice();
  };
  // dT_{1+h}[t] += a_hi up_b, and dT_0[t] += up_b at the last position, example by example
  const sums = (up: Float32Array, width: number): Float32Array => {
    const dT = new Float32Array((1 + H) * dv * width);
    for (let b = 0; b < batch.n; b++) for (let i = 0; i < 3; i++) {
      const t = tokens[b * 3 + i]!;
      for (let h = 0; h < H; h++) {
        const a = attn[(b * H + h) * 3 + i]!, row = ((1 + h) * dv + t) * width;
        for (let c = 0; c < width; c++) dT[row + c] = Math.fround(dT[row + c]! + Math.fround(a * up[b * width + c]!));
      }
      if (i === 2) for (let c = 0; c < width; c++) dT[t * width + c] = Math.fround(dT[t * width + c]! + up[b * width + c]!);
    }
    return dT;
  };
  // dP and d pre have rows mlp_stride floats apart, whose padding stays 0 in both
  const ldp = engine.k.mlp_stride(dmlp);
  assert.deepEqual(table("dP", ldp), sums(batch.field("dpost").view(), ldp), "dP");
  assert.deepEqual(table("dU", dv), sums(batch.field("dlogits").view(), dv), "dU");
  run.dispose();
});

test("each task's loss is its rows' cross-entropies summed by 16 fixed blocks in order, whatever the shards: byte for byte", async () => {
  const engine = await newEngine();
  const run = Run.assemble(engine, resolveConfig({ ...CONFIG, task: "add,sub,mul,a^2+b^2" }));
  const path = run.path as FastPath;
  for (const [batch, results] of [[run.train, await path.lossAndGrad(run.train)], [run.test, await path.evaluate(run.test)]] as const) {
    const { segments } = batch.examples, dv = run.model.dims.d_vocab;
    assert.ok(batch.shards.length > 16, `cut into ${batch.shards.length} shards, not the 16 blocks`);
    const logits = batch.field("logits"), labels = batch.labels;
    segments.forEach(({ start, n }, segment) => {
      let loss = 0;
      for (const [lo, hi] of ranges(n, Math.min(Math.floor(16 / segments.length), n))) {
        loss += engine.k.cross_entropy(logits.at((start + lo) * dv).ptr, labels.at(start + lo).ptr, hi - lo, dv, 0, 1);
      }
      assert.equal(results[segment]!.loss, loss / n, `segment ${segment}`);
    });
  }
  run.dispose();
});

test("shards and ranges cover their range exactly once", () => {
  for (const [n, parts] of [[2822, 8], [5, 8], [7, 3], [1, 1]] as const) {
    const r = ranges(n, parts);
    assert.equal(r[0]![0], 0);
    assert.equal(r.at(-1)![1], n);
    for (let i = 1; i < r.length; i++) assert.equal(r[i]![0], r[i - 1]![1]);
  }
});
