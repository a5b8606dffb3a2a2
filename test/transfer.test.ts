// Loading and freezing modules (PG-E, PG-T, a frozen random embedding), the transfer grids
// as commands, and the export to TransformerLens' layouts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/core/config.js";
import { encodeWeights, readCheckpoint } from "../src/core/io/checkpoint.js";
import { decodeSafetensors } from "../src/core/io/safetensors.js";
import { transformerLensTensors } from "../src/core/io/transformerlens.js";
import { MODULES, PARAM_NAMES } from "../src/core/model/params.js";
import { FastPath } from "../src/core/model/fast.js";
import { Model } from "../src/core/model/model.js";
import { ReferencePath } from "../src/core/model/reference.js";
import { Run } from "../src/core/run.js";
import { runTraining, Trainer } from "../src/core/train.js";
import { remainingFracs, transferPlan, transferRow, type Attempt } from "../src/core/transfer.js";
import { newEngine } from "./helpers.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const SMALL = { p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "30", eval_every: "10" };
const bytesOf = (x: Float32Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("base64");

test("a frozen random embedding (--freeze embed, no --init-from) stays bit-identical; everything else trains", async () => {
  const run = Run.assemble(await newEngine(), resolveConfig({ ...SMALL, freeze: "embed" }));
  const before = new Map(PARAM_NAMES.map((n) => [n, bytesOf(run.model.tensor(n))]));
  await runTraining(new Trainer(run));
  for (const n of PARAM_NAMES) {
    if (n === "embed.W_E") assert.equal(bytesOf(run.model.tensor(n)), before.get(n), "W_E frozen: no update, no decay");
    else assert.notEqual(bytesOf(run.model.tensor(n)), before.get(n), `${n} trains`);
  }
  assert.ok(run.model.gradient("embed.W_E").every((g) => g === 0), "no gradient work for a frozen tensor");
});

for (const [pathName, Path] of [["fast", FastPath], ["reference", ReferencePath]] as const) {
  test(`${pathName} path: freezing skips only the frozen tensors' gradients; the others are the same bits`, async () => {
    const config = resolveConfig(SMALL);
    const grads = async (frozen: string): Promise<Map<string, string>> => {
      const run = Run.assemble(await newEngine(), { ...config, freeze: frozen });
      const model = new Model(run.model.engine, run.model.dims, new Set(frozen ? MODULES[frozen]! : []));
      for (const n of PARAM_NAMES) model.setTensor(n, run.model.tensor(n));
      const path = new Path(model);
      model.zeroGrad();
      await path.lossAndGrad(path.newBatch(run.data.train, true));
      return new Map(PARAM_NAMES.map((n) => [n, bytesOf(model.gradient(n))]));
    };
    const all = await grads("");
    for (const frozen of ["embed", "transformer", "attn", "mlp", "unembed"]) {
      const some = await grads(frozen);
      for (const n of PARAM_NAMES) {
        if (MODULES[frozen]!.includes(n)) assert.ok(Buffer.from(some.get(n)!, "base64").every((b) => b === 0), `${frozen}: ${n} skipped`);
        else assert.equal(some.get(n), all.get(n), `${frozen} frozen: ${n} changed`);
      }
    }
  });
}

test("--init-from with --load: the loaded modules are the source's, the rest a fresh initialisation's; frozen ones stay", async () => {
  const source = Run.assemble(await newEngine(), resolveConfig({ ...SMALL, seed: "7" }));
  await runTraining(new Trainer(source));
  const checkpoint = readCheckpoint(encodeWeights(source.model, source.record()), "source");
  for (const [load, freeze] of [["embed", "embed"], ["transformer", "transformer"], ["all", ""]] as const) {
    const config = resolveConfig({ ...SMALL, seed: "1", init_from: "source", load, freeze });
    const fresh = Run.assemble(await newEngine(), resolveConfig({ ...SMALL, seed: "1" }));
    const run = Run.assemble(await newEngine(), config, { weights: { checkpoint, source: "source" } });
    for (const n of PARAM_NAMES) {
      const from = MODULES[load]!.includes(n) ? source : fresh;
      assert.equal(bytesOf(run.model.tensor(n)), bytesOf(from.model.tensor(n)), `--load ${load}: ${n}`);
    }
    await runTraining(new Trainer(run));
    for (const n of MODULES[freeze] ?? []) assert.equal(bytesOf(run.model.tensor(n)), bytesOf(source.model.tensor(n)), `--freeze ${freeze}: ${n}`);
  }
});

test("Table 1's search: fractions in ascending order, stopping at the first that groks", () => {
  const plan = transferPlan("table1", { sources: ["add"], targets: ["2a+b"] }, {}, "100");
  assert.deepEqual(plan.cells.map((c) => `${c.source ?? "-"} ${c.method}`), ["add PG-E", "add PG-T", "- scratch"]);
  const at = (frac: string, grokked: number | null): Attempt => ({ frac, folder: frac, status: "done", grokked_step: grokked, best_test_acc: grokked ? 1 : 0.3, error: null });
  assert.deepEqual(remainingFracs(plan, []), ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]);
  assert.deepEqual(remainingFracs(plan, [at("0.3", null), at("0.4", null)])[0], "0.5");
  assert.deepEqual(remainingFracs(plan, [at("0.3", null), at("0.4", 900)]), [], "the first success ends the search");
  assert.equal(transferRow(plan, plan.cells[0]!, [at("0.3", 1200)]).result, "✓");
  assert.equal(transferRow(plan, plan.cells[0]!, [at("0.3", null), at("0.4", null), at("0.5", 800)]).result, "r = 0.5");
  assert.equal(transferRow(plan, plan.cells[0]!, plan.fracs.map((f) => at(f, null))).result, "✗");
  assert.throws(() => transferPlan("table1", { targets: ["add"] }, {}, "1"), /--targets 'add' is not in the table1 grid/);
});

// Settings under which add and mul grok at p = 23 in a few hundred steps.
const QUICK = ["--p", "23", "--d-model", "64", "--d-head", "16", "--d-mlp", "128", "--lr", "5e-3", "--weight-decay", "2", "--source-frac", "0.7", "--fracs", "0.7", "--steps", "600", "--eval-every", "50", "--ckpt-every", "100"];
const GRID = ["transfer", "--grid", "elementary", "--sources", "add,mul", "--targets", "add,mul", ...QUICK];

test("grok transfer: the elementary grid (narrowed, p = 23) completes, moves and freezes the modules, and resumes", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-transfer-"));
  try {
    const whole = join(root, "whole");
    const r = grok(...GRID, "--out", whole, "--concurrency", "2", "--quiet");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^elementary grid, seed 0: 10\/10 cells resolved/);
    const json = JSON.parse(readFileSync(join(whole, "transfer.json"), "utf8"));
    assert.equal(json.rows.length, 10);
    assert.ok(json.rows.every((row: { result: string }) => /^[✓✗]$/.test(row.result)), "every cell resolved");
    assert.match(readFileSync(join(whole, "report.html"), "utf8"), /add PG-E<\/th><th>add PG-T<\/th><th>mul PG-E<\/th><th>mul PG-T<\/th><th>scratch/);
    // In a PG-E run the embedding is the source's, bit for bit; in a PG-T run the attention and MLP.
    const weights = (dir: string) => decodeSafetensors(readFileSync(join(dir, "model.safetensors"))).tensors;
    const sourceDir = join(whole, "sources", "runs", readdirSync(join(whole, "sources", "runs")).find((f) => f.startsWith("add-"))!);
    for (const row of json.rows as { source: string; method: string; attempts: { folder: string }[] }[]) {
      if (row.source !== "add") continue;
      const run = weights(join(whole, "grid", "runs", row.attempts[0]!.folder)), src = weights(sourceDir);
      for (const n of MODULES[row.method === "PG-E" ? "embed" : "transformer"]!) assert.equal(bytesOf(run.get(n)!.data), bytesOf(src.get(n)!.data), `${row.method}: ${n}`);
      assert.notEqual(bytesOf(run.get("unembed.W_U")!.data), bytesOf(src.get("unembed.W_U")!.data), "the unembedding trains");
    }

    // Interrupted once a few grid runs have finished, and run again: the same table.
    const dir = join(root, "resumed");
    const child = spawn(process.execPath, [CLI, ...GRID, "--out", dir, "--concurrency", "1", "--quiet"], { stdio: "ignore" });
    const done = (): number => (existsSync(join(dir, "grid", "runs")) ? readdirSync(join(dir, "grid", "runs")).filter((f) => existsSync(join(dir, "grid", "runs", f, "summary.json"))).length : 0);
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => { if (done() >= 3) { clearInterval(poll); child.kill("SIGINT"); } }, 20);
      child.on("exit", (c) => { clearInterval(poll); resolve(c); });
    });
    assert.equal(code, 130);
    assert.ok(done() < 10, "stopped before the end");
    const again = grok(...GRID, "--out", dir, "--concurrency", "2", "--quiet");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(join(dir, "transfer.csv"), "utf8"), readFileSync(join(whole, "transfer.csv"), "utf8"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("grok export --to transformerlens: TransformerLens' layouts compute the same logits", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-export-"));
  try {
    const dir = join(root, "run");
    assert.equal(grok("train", "--p", "11", "--frac", "0.5", "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32", "--steps", "50", "--no-report", "--quiet", "--out", dir).status, 0);
    const r = grok("export", dir, "--to", "transformerlens");
    assert.equal(r.status, 0, r.stderr);
    const tl = decodeSafetensors(readFileSync(join(dir, "transformerlens", "model.safetensors"))).tensors;
    const cfg = JSON.parse(readFileSync(join(dir, "transformerlens", "config.json"), "utf8"));
    assert.deepEqual([cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, cfg.d_vocab, cfg.n_ctx, cfg.act_fn, cfg.normalization_type], [1, 16, 2, 8, 32, 16, 3, "relu", null]);
    // HookedTransformer's forward, written from its einsums, on TransformerLens' tensors.
    const W = (n: string): Float32Array => tl.get(n)!.data;
    const [dm, H, dh, dmlp, dv] = [16, 2, 8, 32, 16];
    const tlLogits = (tokens: number[]): number[] => {
      const x = tokens.map((t, pos) => Array.from({ length: dm }, (_, d) => W("embed.W_E")[t * dm + d]! + W("pos_embed.W_pos")[pos * dm + d]!));
      const proj = (name: string, xi: number[], h: number): number[] => Array.from({ length: dh }, (_, k) => xi.reduce((s, v, d) => s + v * W(`blocks.0.attn.W_${name}`)[(h * dm + d) * dh + k]!, 0) + W(`blocks.0.attn.b_${name}`)[h * dh + k]!);
      const resid = x[2]!.map((v, d) => v + W("blocks.0.attn.b_O")[d]!);
      for (let h = 0; h < H; h++) {
        const q = proj("Q", x[2]!, h), ks = x.map((xi) => proj("K", xi, h)), vs = x.map((xi) => proj("V", xi, h));
        const s = ks.map((k) => k.reduce((a, kk, j) => a + kk * q[j]!, 0) / Math.sqrt(dh));
        const e = s.map((v) => Math.exp(v - Math.max(...s))), sum = e.reduce((a, b) => a + b, 0);
        const z = Array.from({ length: dh }, (_, k) => vs.reduce((a, v, i) => a + (e[i]! / sum) * v[k]!, 0));
        for (let d = 0; d < dm; d++) resid[d]! += z.reduce((a, zk, k) => a + zk * W("blocks.0.attn.W_O")[(h * dh + k) * dm + d]!, 0);
      }
      const post = Array.from({ length: dmlp }, (_, n) => Math.max(0, resid.reduce((a, v, d) => a + v * W("blocks.0.mlp.W_in")[d * dmlp + n]!, 0) + W("blocks.0.mlp.b_in")[n]!));
      const out = resid.map((v, d) => v + post.reduce((a, pn, n) => a + pn * W("blocks.0.mlp.W_out")[n * dm + d]!, 0) + W("blocks.0.mlp.b_out")[d]!);
      return Array.from({ length: dv }, (_, c) => out.reduce((a, v, d) => a + v * W("unembed.W_U")[d * dv + c]!, 0) + W("unembed.b_U")[c]!);
    };
    const config = resolveConfig({ ...SMALL, steps: "50" });
    const run = Run.assemble(await newEngine(), config, { resume: undefined });
    const ckpt = readCheckpoint(readFileSync(join(dir, "model.safetensors")), "model");
    for (const n of PARAM_NAMES) run.model.setTensor(n, ckpt.tensors.get(n)!.data);
    const batch = run.path.newBatch(run.data.test, false);
    await run.path.evaluate(batch);
    const ours = run.model.logits(batch);
    for (let i = 0; i < 20; i++) {
      const want = tlLogits(Array.from(run.data.test.tokens.subarray(3 * i, 3 * i + 3)));
      want.forEach((v, c) => assert.ok(Math.abs(v - ours[i * dv + c]!) < 1e-4, `example ${i}, class ${c}: ${v} vs ${ours[i * dv + c]}`));
    }
    assert.equal(transformerLensTensors(run.model).length, 16, "every HookedTransformer parameter of a 1-layer model");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
