// A researcher's first day: progress measures over training, comparing runs, the
// interactive report, a progress line that fits the terminal, presets and config files.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metrics, Summary } from "../src/core/train.js";
import { bands, type ComparedRun } from "../src/report/compare.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
const lines = (path: string): Record<string, any>[] => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));

test("--preset small groks (a+b)^2 mod 31; progress.jsonl shows the circuit forming as it groks", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-preset-"));
  try {
    const r = grok("train", "--preset", "small", "--task", "(a+b)^2", "--until-grokked", "--workers", "1", "--measure-every", "100", "--no-report", "--quiet", "--out", dir);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.deepEqual([config.preset, config.p, config.d_model, config.frac], ["small", 31, 64, 0.7]);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    assert.ok(summary.grokked_step !== null && summary.grokked_step <= 3000, `grokked at ${summary.grokked_step}`);
    const points = lines(join(dir, "progress.jsonl"));
    assert.deepEqual(Object.keys(points[0]!), ["step", "gini_E", "gini_L", "key_frequencies", "key_weight", "restricted_loss", "excluded_loss", "loss_all", "neurons_clustered", "clusters"]);
    const metrics = new Map(lines(join(dir, "metrics.jsonl")).map((m) => [m.step, m]));
    const at = (step: number) => points.find((p) => p.step === step)!;
    const first = at(100), last = points.at(-1)!;
    console.log(`  restricted loss ${first.restricted_loss.toFixed(3)} -> ${last.restricted_loss.toExponential(2)}, Gini of W_L ${first.gini_L.toFixed(2)} -> ${last.gini_L.toFixed(2)}, test acc ${metrics.get(100)!.test_acc.toFixed(2)} -> ${metrics.get(last.step)!.test_acc.toFixed(2)}`);
    assert.ok(last.restricted_loss < first.restricted_loss / 10, "the restricted loss falls as it groks");
    assert.ok(last.gini_L > first.gini_L && last.neurons_clustered > first.neurons_clustered, "the spectrum sparsifies and the neurons cluster");
    assert.ok(metrics.get(last.step)!.test_acc >= 0.99);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("grok compare: three seeds of one task are one group, drawn as mean and min..max", () => {
  const root = mkdtempSync(join(tmpdir(), "grok-compare-"));
  try {
    for (const seed of ["0", "1", "2"]) assert.equal(grok("train", "--p", "11", "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32", "--steps", "30", "--eval-every", "10", "--seed", seed, "--workers", "1", "--no-report", "--quiet", "--out", join(root, `s${seed}`)).status, 0);
    const out = join(root, "cmp.html");
    const r = grok("compare", join(root, "s0"), join(root, "s1"), join(root, "s2"), "--out", out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^3 runs in 1 groups ->/);
    const charts = embedded(readFileSync(out, "utf8"));
    const band = charts.find((c) => c.id === "cmp_test_acc")!;
    const rows = band.data.cmp_test_acc as { step: number; n: number; mean: number; min: number; max: number }[];
    assert.ok(rows.length > 0 && rows.every((x) => x.n === 3 && x.min <= x.mean && x.mean <= x.max));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("grok compare's bands: a seed that stopped after grokking holds its last value; a step off the common grid is left out", () => {
  const metrics = (points: [number, number][]): Metrics[] => points.map(([step, test_acc]) => ({ step, test_acc }) as Metrics);
  const run = (seed: number, points: [number, number][], stopped: Summary["stopped"]): ComparedRun =>
    ({ folder: `s${seed}`, group: "add", seed, metrics: metrics(points), summary: { stopped } as Summary });
  const rows = bands([
    run(0, [[100, 0.5], [200, 1], [220, 1]], "grokked"), // its last evaluation at step 220, off the grid of 100
    run(1, [[100, 0.2], [200, 0.4], [300, 0.6], [400, 0.8]], "steps"),
    run(2, [[100, 0.1], [200, 0.3], [300, 0.5]], "interrupted"),
  ], "test_acc");
  assert.deepEqual(rows.map((r) => [r.step, r.n, r.min, r.max]), [[100, 3, 0.1, 0.5], [200, 3, 0.3, 1], [300, 3, 0.5, 1], [400, 2, 0.8, 1]]);
});

/** The charts a page embeds: the argument of its page script. */
function embedded(html: string): { id: string; spec: Record<string, unknown>; data: Record<string, unknown> }[] {
  const m = /\}\)\((\[\{"id".*\])\);<\/script>/.exec(html);
  assert.ok(m, "the page embeds its charts");
  return JSON.parse(m[1]!.replace(/<\\\//g, "</"));
}

// Every mark of a spec (layers, concatenations) has a tooltip.
function marks(spec: any): any[] {
  return [...(spec.mark ? [spec] : []), ...(spec.layer ?? []).flatMap(marks), ...(spec.hconcat ?? []).flatMap(marks), ...(spec.vconcat ?? []).flatMap(marks)];
}

test("the report at p = 97: under 3 MB, self-contained, every chart a spec with tooltips on every mark", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-report-"));
  try {
    const r = grok("train", "--steps", "1", "--workers", "1", "--quiet", "--out", dir);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    const size = statSync(join(dir, "report.html")).size;
    console.log(`  report.html at p=97: ${(size / 2 ** 20).toFixed(2)} MB`);
    assert.ok(size < 3 * 2 ** 20);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org|vega\.github\.io)[\w.]+\/[\w/.-]*\.(js|css)/, "nothing fetched from the network");
    const charts = embedded(html);
    assert.ok(charts.length >= 12, `${charts.length} charts`);
    for (const c of charts) {
      const ms = marks(c.spec);
      assert.ok(ms.length > 0, `${c.id}: a spec with marks`);
      for (const m of ms) assert.ok((typeof m.mark === "object" && m.mark.tooltip) || m.encoding?.tooltip, `${c.id}: a mark without a tooltip`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the progress line fits the terminal: 80 and 200 columns, through a pseudo-terminal", () => {
  const dir = mkdtempSync(join(tmpdir(), "grok-pty-"));
  try {
    for (const cols of [80, 200]) {
      const cmd = `stty cols ${cols}; ${process.execPath} ${CLI} train --preset small --task add --steps 3000 --workers 1 --no-report --out ${join(dir, String(cols))}`;
      const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      // What the terminal shows: segments between carriage returns, without the erase-line code.
      const drawn = r.stdout.split(/\r|\n/).map((s) => s.replace(/\x1b\[K/g, "")).filter((s) => s.startsWith("step "));
      assert.ok(drawn.length > 3, `${cols} columns: ${drawn.length} status lines`);
      const widest = Math.max(...drawn.map((s) => s.length));
      console.log(`  ${cols} columns: ${drawn.length} redraws, widest ${widest}: ${drawn.at(-1)}`);
      assert.ok(widest <= cols - 1, `${cols} columns: a status line of ${widest}`);
      assert.ok(drawn.some((s) => s.includes("ETA")), "an ETA against the cap");
      assert.equal(drawn.some((s) => s.includes("elapsed")), cols === 200, "the least important field only where it fits");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--version, -h everywhere, complete option lists, --config files", () => {
  const version = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")).version;
  assert.equal(grok("--version").stdout, `grok ${version}\n`);
  for (const command of ["train", "sweep", "transfer", "analyze", "compare", "export", "tasks"]) {
    const r = grok(command, "-h");
    assert.equal(r.status, 0, command);
    assert.match(r.stdout, new RegExp(`^Usage: grok ${command}`), command);
  }
  const unknown = grok("train", "--stepz", "3");
  assert.match(unknown.stderr, /unknown option --stepz for grok train \(options: --out .*--max-memory; config keys: --preset --task .*--keep-ckpts\)/);
  const dir = mkdtempSync(join(tmpdir(), "grok-config-"));
  try {
    writeFileSync(join(dir, "c.json"), JSON.stringify({ task: "mul", p: 11, steps: 3, d_model: 16, n_heads: 2, d_head: 8, d_mlp: 32 }));
    const r = grok("train", "--config", join(dir, "c.json"), "--p", "13", "--workers", "1", "--no-report", "--quiet", "--out", join(dir, "run"));
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(dir, "run", "config.json"), "utf8"));
    assert.deepEqual([config.task, config.p, config.steps], ["mul", 13, 3], "the file's keys, the command line over them");
    writeFileSync(join(dir, "bad.json"), "[1]");
    assert.match(grok("train", "--config", join(dir, "bad.json")).stderr, /holds one object of config keys/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
