// Training in slices, and the same core in Deno, Bun and workerd: a run trained a slice at a
// time (the state carried as checkpoint bytes) ends byte-identical to an uninterrupted one;
// the Cloudflare Worker, run by a real workerd through miniflare, trains a run across many
// requests with its state in a Durable Object, survives a restart of workerd, refuses bad
// input with a message; and `npm run check:runtimes` finds the weights identical in Node,
// Deno, Bun and workerd.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProgressPoint } from "../src/core/analysis.js";
import { resolveConfig } from "../src/core/config.js";
import { encodeWeights, readCheckpoint } from "../src/core/io/checkpoint.js";
import { Run } from "../src/core/run.js";
import { SliceError, trainSlice } from "../src/core/slice.js";
import { runTraining, Trainer, type Metrics } from "../src/core/train.js";
import { nextSliceSteps } from "../src/node/commands/edge-train.js";
import { startLocalWorker } from "../workers/cloudflare/local.js";
import { newEngine } from "./helpers.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const RUNTIMES = fileURLToPath(new URL("../bench/runtimes.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const withoutWall = (text: string): string => text.replace(/"wall_s":[-+0-9.e]+/g, "");

const SMALL = { p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "400", eval_every: "20", measure_every: "100" };

test("a run trained in uneven slices, its state carried as bytes, ends byte-identical to an uninterrupted one", async () => {
  const engine = await newEngine();
  const config = resolveConfig(SMALL);
  const whole = Run.assemble(engine, config);
  const metrics: Metrics[] = [], progress: ProgressPoint[] = [];
  await runTraining(new Trainer(whole), { onEval: (m) => metrics.push(m), onProgress: (p) => progress.push(p) });
  const expected = encodeWeights(whole.model, whole.record());
  whole.dispose();

  let state: Uint8Array | null = null;
  const sliced: Metrics[] = [], points: ProgressPoint[] = [];
  const sizes = [1, 7, 20, 33, 100, 1, 19, 500];
  for (let i = 0, done = false; !done; i++) {
    const slice = await trainSlice(engine, config, state, { steps: sizes[i % sizes.length]! });
    sliced.push(...slice.metrics);
    points.push(...slice.progress);
    ({ state, done } = slice);
    assert.ok(slice.latest.step === slice.step, "latest is the evaluation at the slice's end");
  }
  const run = Run.assemble(engine, config, { resume: { checkpoint: readCheckpoint(state!, "state"), source: "state" } });
  assert.deepEqual(encodeWeights(run.model, run.record()), expected);
  run.dispose();
  assert.equal(withoutWall(sliced.map((m) => JSON.stringify(m)).join("\n")), withoutWall(metrics.map((m) => JSON.stringify(m)).join("\n")));
  assert.deepEqual(points, progress);
  // The engine gave every slice's buffers back: the next run starts where the first did.
  await assert.rejects(trainSlice(engine, config, state, { steps: 10 }), (e: unknown) => e instanceof SliceError && /ended at step 400/.test(e.message));
  await assert.rejects(trainSlice(engine, config, null, { steps: 0 }), SliceError);
});

test("a slice with a time budget stops at it, and the run still ends identical", async () => {
  const engine = await newEngine();
  const config = resolveConfig({ ...SMALL, steps: "60" });
  let now = 0;
  // A clock that moves 10 ms a reading: a 100 ms budget ends each slice after a few steps.
  const clock = (): number => (now += 10);
  let state: Uint8Array | null = null, slices = 0;
  for (let done = false; !done; slices++) ({ state, done } = await trainSlice(engine, config, state, { steps: 1000, budgetMs: 100 }, { clock }));
  assert.ok(slices > 3, `${slices} slices`);
  const whole = Run.assemble(engine, config);
  await runTraining(new Trainer(whole));
  const expected = encodeWeights(whole.model, whole.record());
  whole.dispose();
  const run = Run.assemble(engine, config, { resume: { checkpoint: readCheckpoint(state!, "state"), source: "state" } });
  assert.deepEqual(encodeWeights(run.model, run.record()), expected);
  run.dispose();
});

test("slices are sized to the budget and end on an evaluation", () => {
  assert.equal(nextSliceSteps(0, 60, 20000, 100), 300);
  assert.equal(nextSliceSteps(250, 60, 20000, 100), 250, "from 250, up to step 500");
  assert.equal(nextSliceSteps(0, 60, 3000, 100), 50, "less than one evaluation apart: as many as fit");
  assert.equal(nextSliceSteps(0, 1e6, 20000, 100), 1, "always at least one step");
});

test("workerd: a run trained over many requests with its state in a Durable Object, through a restart of workerd, is byte-identical to Node's", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-edge-"));
  const persist = join(root, "do");
  let worker = await startLocalWorker({ persist });
  try {
    const args = ["--p", "23", "--steps", "300", "--no-report"];
    assert.equal(grok("train", ...args, "--workers", "1", "--quiet", "--out", join(root, "node")).status, 0);
    const edge = grok("edge-train", worker.url, ...args, "--slice-steps", "50", "--out", join(root, "edge"));
    assert.equal(edge.status, 0, edge.stderr);
    assert.match(edge.stdout, /on workerd, 6 requests/);
    const same = (a: string, b: string, file: string): void => assert.equal(withoutWall(readFileSync(join(root, a, file), "utf8")), withoutWall(readFileSync(join(root, b, file), "utf8")), file);
    assert.deepEqual(readFileSync(join(root, "edge", "model.safetensors")), readFileSync(join(root, "node", "model.safetensors")));
    for (const file of ["metrics.jsonl", "progress.jsonl", "config.json"]) same("edge", "node", file);
    // The run folder is a run folder: analysed here like any other.
    assert.equal(grok("analyze", join(root, "edge")).status, 0);

    // workerd restarted in the middle of a run: the client tries again, the run goes on from the stored state.
    const client = spawn(process.execPath, [CLI, "edge-train", worker.url, "--p", "23", "--steps", "600", "--slice-steps", "40", "--no-report", "--quiet", "--out", join(root, "restarted")], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    client.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => client.on("exit", resolve));
    await new Promise((r) => setTimeout(r, 2500));
    const port = new URL(worker.url).port;
    await worker.dispose();
    worker = await startLocalWorker({ persist, port: Number(port) });
    assert.equal(await exited, 0, stderr);
    assert.equal(grok("train", "--p", "23", "--steps", "600", "--workers", "1", "--quiet", "--no-report", "--out", join(root, "node600")).status, 0);
    assert.deepEqual(readFileSync(join(root, "restarted", "model.safetensors")), readFileSync(join(root, "node600", "model.safetensors")));
  } finally {
    await worker.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test("workerd: bad input is refused with one line naming it; a run too large for a Worker says what it needs", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-edge-bad-"));
  const worker = await startLocalWorker();
  try {
    const refused = (args: string[], pattern: RegExp, code = 2): void => {
      const r = grok("edge-train", worker.url, ...args, "--out", join(root, "x"), "--quiet");
      assert.equal(r.status, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    };
    refused(["--p", "24"], /got 24 \(not prime\)/);
    refused(["--p", "257"], /needs about .* more than a Worker's 128 MB/);
    refused(["--run", "0".repeat(64)], /refused GET .* \(4\d\d\)/);
    refused(["--run", "xyz"], /64 hex digits/);
    const gone = grok("edge-train", "http://127.0.0.1:9", "--p", "23", "--out", join(root, "y"), "--quiet");
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /POST http:\/\/127\.0\.0\.1:9\/runs failed/);
    // The Worker checks what it is sent on its own (not every client is grok).
    for (const [body, pattern] of [["{not json", /not JSON/], ['{"p": 24}', /got 24 \(not prime\)/], ['{"task": "a^"}', /a\^/], ['{"init_from": "x"}', /starts from its seed/]] as const) {
      const res = await fetch(`${worker.url}/runs`, { method: "POST", body });
      assert.equal(res.status, 400, body);
      assert.match(((await res.json()) as { error: string }).error, pattern);
    }
  } finally {
    await worker.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test("npm run check:runtimes: Node, Deno, Bun (1 and 2 threads) and workerd train the same weights", () => {
  const r = spawnSync(process.execPath, [RUNTIMES, "--p", "23", "--steps", "300"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const rows = r.stdout.split("\n").filter((l) => /^(node|deno|bun|workerd)\s/.test(l));
  assert.equal(rows.length, 7, r.stdout);
  for (const row of rows) assert.match(row, /\byes\s*$/, row);
  assert.match(r.stdout, /workerd: the run's WebAssembly memory at most \d+ MiB/);
});
