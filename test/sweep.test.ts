// Sweeps: a grid as data (axes, ranges, mixtures as cells, ids), and `grok sweep` end to end:
// a small grid completes, records a bad run while the rest finish, is interrupted and
// resumes without redoing finished runs, and gives the same summary however it was made.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/core/config.js";
import { axisValues, configHash, expandSweep, gridTables, rowsToCsv, specFromDocument, specFromFlags, SweepError, type SweepRow } from "../src/core/sweep.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

test("axis values: commas, mixtures in braces, numeric ranges without float noise", () => {
  assert.deepEqual(axisValues("task", "add, sub,mul"), ["add", "sub", "mul"]);
  assert.deepEqual(axisValues("task", "add,{add,sub,mul},(a+b)^2"), ["add", "add,sub,mul", "(a+b)^2"]);
  assert.deepEqual(axisValues("frac", "0.3:0.9:0.1"), ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]);
  assert.deepEqual(axisValues("seed", "0:4:2"), ["0", "2", "4"]);
  assert.throws(() => axisValues("task", "add,{sub"), SweepError);
  assert.throws(() => axisValues("task", "add,,sub"), /empty value/);
  assert.throws(() => axisValues("frac", "0.9:0.3:0.1"), /from <= to/);
});

test("a spec from flags or a document: lists are axes, the rest fixed; every cell a resolved config with an id", () => {
  const flags = specFromFlags({ task: "add,{add,sub}", frac: "0.3:0.5:0.1", seed: "0", until_grokked: true });
  assert.deepEqual(flags.axes.map((a) => a.key), ["task", "frac"]);
  assert.deepEqual(flags.fixed, { seed: "0", until_grokked: true });
  const doc = specFromDocument({ task: ["add", ["add", "sub"]], frac: "0.3:0.5:0.1", seed: 0, until_grokked: true });
  assert.deepEqual(doc, flags);
  const cells = expandSweep(flags);
  assert.equal(cells.length, 6);
  assert.deepEqual(cells[3]!.axes, { task: "add,sub", frac: "0.3" });
  assert.equal(cells[3]!.config!.task, "add,sub");
  assert.equal(new Set(cells.map((c) => c.id)).size, 6);
  assert.throws(() => specFromFlags({ stepz: "1,2" }), /unknown option --stepz/);
  assert.throws(() => specFromDocument([1, 2]), /one object of config keys/);
  // An invalid cell is recorded, not thrown: the rest of the grid stands.
  const bad = expandSweep(specFromFlags({ p: "23,21" }));
  assert.equal(bad[0]!.error, undefined);
  assert.match(bad[1]!.error!, /--p must be a prime between 3 and 257, got 21 \(not prime\)/);
});

test("a run's id is a hash of its resolved config: the same however it was written", () => {
  const a = resolveConfig({ task: "add", frac: "0.30", lr: "1e-3" });
  const b = resolveConfig({ lr: "0.001", frac: "0.3" });
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash(resolveConfig({ seed: "1" })));
});

test("Table A.5: a check mark with the median grokking step when every seed grokked, else the best test accuracy", () => {
  const row = (task: string, frac: string, seed: string, grokked: number | null, best: number): SweepRow => ({
    folder: `${task}${frac}${seed}`, id: "x", axes: { task, frac, seed }, status: "done", memorized: true, grokked: grokked !== null,
    memorized_step: 100, grokked_step: grokked, best_test_acc: best, final_test_acc: best, ffd_E: 1, fcr_E: 1, ffd_L: 1, fcr_L: 1, steps: 1000, error: null,
  });
  const rows = [row("add", "0.3", "0", 1000, 1), row("add", "0.3", "1", 3000, 1), row("add", "0.3", "2", 2000, 1),
    row("mul", "0.3", "0", null, 0.5), row("mul", "0.3", "1", 800, 1), row("mul", "0.3", "2", null, 0.7)];
  const [t] = gridTables(rows);
  assert.deepEqual([t!.rows, t!.cols], [["add", "mul"], ["0.3"]]);
  assert.deepEqual(t!.cells[0]![0], { runs: 3, grokked: 3, median_grokked_step: 2000, best_test_acc: 1 });
  assert.deepEqual(t!.cells[1]![0], { runs: 3, grokked: 1, median_grokked_step: null, best_test_acc: (0.5 + 1 + 0.7) / 3 });
  assert.match(rowsToCsv([{ ...rows[0]!, error: 'a "quoted", error' }]), /,"a ""quoted"", error",/);
});

const SMALL = ["--p", "23", "--frac", "0.6", "--d-model", "32", "--d-head", "8", "--d-mlp", "64", "--lr", "3e-3", "--steps", "600", "--eval-every", "100"];
// Six runs: add and sub train; a/(b-b) is defined nowhere, so its runs fail when they start.
const GRID = [...SMALL, "--task", "add,sub,a/(b-b)", "--seed", "0,1"];

const finishedRuns = (dir: string): string[] => existsSync(join(dir, "runs")) ? readdirSync(join(dir, "runs")).filter((f) => existsSync(join(dir, "runs", f, "summary.json"))).sort() : [];

test("grok sweep: interrupted, it resumes without redoing finished runs; a bad run is recorded; any way of making it gives the same summary", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-sweep-"));
  try {
    const dir = join(root, "a");
    // Interrupt a one-at-a-time sweep once two runs have finished.
    const child = spawn(process.execPath, [CLI, "sweep", ...GRID, "--out", dir, "--concurrency", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (finishedRuns(dir).length >= 2) {
          clearInterval(poll);
          child.kill("SIGINT");
        }
      }, 20);
      child.on("exit", (c) => { clearInterval(poll); resolve(c); });
    });
    assert.equal(code, 130, stderr);
    const before = new Map(finishedRuns(dir).map((f) => {
      const s = join(dir, "runs", f, "summary.json");
      return [f, { mtime: statSync(s).mtimeMs, bytes: readFileSync(s, "utf8") }];
    }));
    const done = [...before].filter(([, v]) => JSON.parse(v.bytes).stopped !== "interrupted").map(([f]) => f);
    assert.ok(done.length >= 2 && done.length < 4, `finished before the interrupt: ${done.join(", ")}`);

    const resumed = grok("sweep", ...GRID, "--out", dir, "--concurrency", "2");
    assert.equal(resumed.status, 1, "two runs failed: exit 1");
    assert.match(resumed.stderr, new RegExp(`6 runs, ${done.length} already finished \\(skipped\\)`));
    for (const f of done) assert.equal(statSync(join(dir, "runs", f, "summary.json")).mtimeMs, before.get(f)!.mtime, `${f} was not run again`);
    assert.match(resumed.stdout, /6 runs: 4 done, 2 failed ->/);
    const csv = readFileSync(join(dir, "summary.csv"), "utf8");
    assert.equal(csv.split("\n")[0], "task,seed,status,memorized,grokked,memorized_step,grokked_step,best_test_acc,final_test_acc,ffd_E,fcr_E,ffd_L,fcr_L,steps,error,folder,id");
    assert.equal((csv.match(/,done,/g) ?? []).length, 4);
    assert.equal((csv.match(/^a\/\(b-b\),\d,failed,.*leaves 0 train and 0 test pairs/gm) ?? []).length, 2, csv);
    assert.match(readFileSync(join(dir, "report.html"), "utf8"), /<table class="grid">/);

    // The same sweep from scratch elsewhere, and the summary rebuilt from the run folders alone.
    const fresh = join(root, "b");
    assert.equal(grok("sweep", ...GRID, "--out", fresh, "--concurrency", "2").status, 1);
    for (const f of ["summary.json", "summary.csv"]) assert.equal(readFileSync(join(fresh, f), "utf8"), readFileSync(join(dir, f), "utf8"), f);
    const summary = readFileSync(join(dir, "summary.json"), "utf8");
    rmSync(join(dir, "summary.json"));
    assert.equal(grok("sweep", "--summary", dir).status, 0);
    assert.equal(readFileSync(join(dir, "summary.json"), "utf8"), summary);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("grok sweep from a YAML file: a mixture is a cell; flags override the file", () => {
  const root = mkdtempSync(join(tmpdir(), "grok-sweep-"));
  try {
    const spec = join(root, "mix.yaml");
    writeFileSync(spec, "task: [add, [add, sub]]\nseed: [0, 1]\np: 11\nsteps: 20\neval_every: 10\nd_model: 16\nn_heads: 2\nd_head: 8\nd_mlp: 32\n");
    const r = grok("sweep", spec, "--seed", "3", "--out", join(root, "out"), "--quiet");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^2 runs: 2 done, 0 failed/);
    const rows = JSON.parse(readFileSync(join(root, "out", "summary.json"), "utf8")).rows as SweepRow[];
    assert.deepEqual(rows.map((x) => x.axes), [{ task: "add" }, { task: "add,sub" }]);
    const mixture = readFileSync(join(root, "out", "runs", rows[1]!.folder, "metrics.jsonl"), "utf8");
    assert.match(mixture, /"test_acc\/sub":/);
    assert.equal(JSON.parse(readFileSync(join(root, "out", "runs", rows[1]!.folder, "config.json"), "utf8")).seed, 3);
    assert.match(grok("sweep", join(root, "missing.yaml")).stderr, /cannot read sweep file .*missing.yaml/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
