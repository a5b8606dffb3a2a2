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
    assert.deepEqual(readdirSync(out).sort(), ["analysis.json", "checkpoints", "config.json", "metrics.jsonl", "model.safetensors", "progress.jsonl", "report.html", "summary.json"], "no temp files left");
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
    const [add] = analysis.tasks;
    assert.equal(analysis.tasks.length, 1);
    assert.ok(add.key_frequencies.length >= 1 && add.key_frequencies.length <= 6);
    assert.ok(add.restricted_loss < 0.1, "the key frequencies alone carry the grokked model");
    assert.equal(add.excluded_loss.length, 11);
    assert.equal(add.neurons.dominant_frequency.length, 256);
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.equal((html.match(/<div class="chart" id="chart-/g) ?? []).length, 13, "13 charts");
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, "self-contained: nothing fetched");

    // grok analyze re-creates the same analysis from the run folder.
    const again = grok("analyze", out);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(out, "analysis.json"), "utf8")).tasks[0].key_frequencies, add.key_frequencies);
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
      [["--task", "add,a+b"], /task list 'add,a\+b' names add twice \('add' and 'a\+b'\)/],
      [["--task", "a^2+b^2,b^2+a^2"], /tasks 'a\^2\+b\^2' and 'b\^2\+a\^2' compute the same function mod 97/],
      [["--task", "add,,mul"], /task list 'add,,mul' has an empty member/],
      [["--task", "add,nonsense"], /unknown task 'nonsense'/],
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

test("grok train on a mixture writes per-task metrics, events and analysis", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-cli-"));
  try {
    const r = grok("train", "--task", "add,sub,a^2+b^2,(a+b)^2", "--p", "11", "--frac", "0.5", "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32",
      "--steps", "40", "--eval-every", "20", "--out", dir, "--force");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^add,sub,a\^2\+b\^2,\(a\+b\)\^2 p=11 r=0.5 seed=0: .*(co-grokked|did not co-grok) .*\(add \S+, sub \S+, a2\+b2 \S+, sum2 \S+\)/m);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(config.d_vocab, 11 + 5 + 2, "two polynomials: a task token each");
    assert.deepEqual(config.tasks.map((t: { token: number }) => t.token), [12, 13, 16, 17]);
    assert.deepEqual(config.vocab.tasks, { "a2+b2": 16, sum2: 17 });
    const line = JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").at(-1)!);
    const tasks = ["add", "sub", "a2+b2", "sum2"];
    assert.deepEqual(Object.keys(line), ["step", "train_loss", "test_loss", "train_acc", "test_acc",
      ...tasks.flatMap((t) => [`train_loss/${t}`, `test_loss/${t}`, `train_acc/${t}`, `test_acc/${t}`]),
      "ffd_E", "fcr_E", "ffd_L", "fcr_L", "weight_norm", "wall_s"]);
    const sum = tasks.reduce((s, t) => s + line[`train_loss/${t}`], 0);
    assert.ok(Math.abs(line.train_loss - sum) < 1e-12, "train_loss is the sum over tasks");
    const mean = tasks.reduce((s, t) => s + line[`test_acc/${t}`], 0) / tasks.length;
    assert.ok(Math.abs(line.test_acc - mean) < 1e-12, "test_acc is the mean over tasks");
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    assert.deepEqual(Object.keys(summary.tasks), tasks);
    assert.ok("co_grokked_step" in summary && summary.co_grokked_step === summary.grokked_step);
    const analysis = JSON.parse(readFileSync(join(dir, "analysis.json"), "utf8"));
    assert.deepEqual(analysis.tasks.map((t: { task: string }) => t.task), tasks);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    for (const t of tasks) assert.ok(html.includes(`${t}: Excluded loss`) && html.includes(`${t}: Logits in the 2-D Fourier basis`) && html.includes(`<h2>Task ${t} (`), t);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
