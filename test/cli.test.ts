// `grok` end to end: a small run that groks, its files, and bad input.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeSafetensors } from "../src/core/io/safetensors.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

test("grok train groks (a+b) mod 23 and writes config, metrics, model, summary, analysis and report", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-cli-"));
  const out = join(dir, "run");
  try {
    const r = grok("train", "--p", "23", "--frac", "0.6", "--d-model", "64", "--d-head", "16", "--d-mlp", "256", "--lr", "3e-3",
      "--steps", "5000", "--until-grokked", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^add p=23 r=0.6 seed=0: memorized at step \d+, grokked at step \d+; \d+ steps in/);
    assert.deepEqual(readdirSync(out).sort(), ["analysis.json", "config.json", "metrics.jsonl", "model.safetensors", "report.html", "summary.json"], "no temp files left");
    assert.match(r.stdout, /FFD\/FCR of W_E [\d.]+\/[\d.]+, of W_L [\d.]+\/[\d.]+; key frequencies [\d, ]+; restricted loss/);

    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(config.p, 23);
    assert.equal(config.d_vocab, 28);
    assert.equal(config.n_train, Math.floor(0.6 * 23 * 23));

    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.ok(summary.grokked_step > 0 && summary.memorized_step <= summary.grokked_step);
    for (const key of ["memorized_step", "grokked_step", "steps", "wall_s", "ms_per_step"]) assert.ok(key in summary, key);

    const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].step, 0);
    assert.equal(lines.at(-1).step, summary.steps);
    assert.ok(lines.at(-1).test_acc >= 0.99);

    const { tensors, metadata } = decodeSafetensors(readFileSync(join(out, "model.safetensors")));
    assert.deepEqual(tensors.get("embed.W_E")!.shape, [64, 28]);
    assert.deepEqual(tensors.get("blocks.0.attn.W_Q")!.shape, [4, 16, 64]);
    assert.equal(JSON.parse(metadata.config!).task, "add");

    // The Fourier measures are logged at every evaluation, and the analysis of the grokked model.
    for (const key of ["ffd_E", "fcr_E", "ffd_L", "fcr_L", "weight_norm"]) assert.ok(Number.isFinite(lines.at(-1)[key]), key);
    assert.ok(lines.at(-1).ffd_E < lines[0].ffd_E, "the embedding concentrates on a few frequencies");
    const analysis = JSON.parse(readFileSync(join(out, "analysis.json"), "utf8"));
    for (const key of ["ffd_E", "fcr_E", "ffd_L", "fcr_L"]) assert.ok(analysis[key] > 0 && analysis[key] <= 1, key);
    assert.ok(analysis.key_frequencies.length >= 1 && analysis.key_frequencies.length <= 6);
    assert.ok(analysis.restricted_loss < 0.1, "the key frequencies alone carry the grokked model");
    assert.equal(analysis.excluded_loss.length, 11);
    assert.equal(analysis.neurons.dominant_frequency.length, 256);
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.equal((html.match(/<svg/g) ?? []).length, 14, "14 charts");
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, "self-contained: no script, no network");

    // grok analyze re-creates the same analysis from the run folder.
    const again = grok("analyze", out);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "analysis.json"), "utf8")).key_frequencies, analysis.key_frequencies);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad input: one line naming the value, exit code 2, nothing written", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-cli-"));
  try {
    const out = join(dir, "never");
    const cases: [string[], RegExp][] = [
      [["--task", "nonsense"], /unknown task 'nonsense'/],
      [["--task", "a+*b"], /cannot parse "a\+\*b"/],
      [["--p", "21"], /--p must be a prime between 3 and 257, got 21 \(not prime\)/],
      [["--p", "1009"], /got 1009 \(out of range\)/],
      [["--frac", "1.5"], /--frac must be in \(0, 1\), got 1.5/],
      [["--steps", "0"], /--steps must be an integer >= 1, got 0/],
      [["--stepz", "10"], /unknown option --stepz/],
    ];
    for (const [args, message] of cases) {
      const r = grok("train", ...args, "--out", out);
      assert.equal(r.status, 2, `${args.join(" ")}: exit ${r.status}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
      assert.ok(!existsSync(out), "nothing written");
    }
    const r = grok("train", "--steps", "1", "--out", "/proc/grok-unwritable/run");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot write to output folder \/proc\/grok-unwritable\/run/);
    const notRun = grok("analyze", dir);
    assert.equal(notRun.status, 2);
    assert.match(notRun.stderr, /is not a finished run folder: missing config.json, metrics.jsonl, summary.json, model.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an existing run folder is only overwritten with --force", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-cli-"));
  try {
    const small = ["train", "--p", "5", "--d-model", "8", "--n-heads", "2", "--d-head", "4", "--d-mlp", "16", "--steps", "3", "--no-report", "--out", dir];
    assert.equal(grok(...small).status, 0);
    const again = grok(...small);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds a run: pass --force/);
    assert.equal(grok(...small, "--force").status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("grok tasks lists the registry; grok --help shows usage", () => {
  const tasks = grok("tasks");
  assert.equal(tasks.status, 0);
  assert.match(tasks.stdout, /^add\s+a\+b\s+op '\+'\s+elementary$/m);
  assert.match(tasks.stdout, /^a3\+ab2\+b\s+a\^3\+ab\^2\+b/m);
  assert.match(grok("--help").stdout, /Usage:/);
});
