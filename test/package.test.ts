// The package as a user installs it: `npm pack`, the tarball installed into an empty
// folder, then imported from plain Node ESM (`grokwasm` and `grokwasm/node`) and its `grok`
// command run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

// The README's "Using it as a library" example, at a tiny size.
const APP = `
import { resolveConfig, Run, Trainer, runTraining, analyze, encodeWeights, trainSlice, Vocab, TASKS } from "grokwasm";
import { loadEngine } from "grokwasm/node";
const engine = await loadEngine();
const config = resolveConfig({ p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "20", eval_every: "10" });
const run = Run.assemble(engine, config);
const evals = [];
const summary = await runTraining(new Trainer(run), { onEval: (m) => evals.push(m.step) });
const analysis = await analyze(run.model, config, run.vocab);
const bytes = encodeWeights(run.model, run.record());
run.dispose();
let slice = await trainSlice(engine, config, null, { steps: 10 });
slice = await trainSlice(engine, config, slice.state, { steps: 10 });
console.log(JSON.stringify({ steps: summary.steps, evals, loss: summary.final.train_loss, sliced: slice.latest.train_loss, done: slice.done,
  ffd: analysis.ffd_E, bytes: bytes.length, d_vocab: new Vocab(11).size, tasks: TASKS.length }));
`;

test("npm pack, install the tarball, import grokwasm from plain Node ESM and run grok", () => {
  const dir = mkdtempSync(join(tmpdir(), "grokwasm-pack-"));
  try {
    // The build is fresh (npm test builds first): pack without running prepack again.
    const tarball = execFileSync(NPM, ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").at(-1)!;
    const app = join(dir, "app");
    execFileSync("mkdir", [app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--silent", join(dir, tarball)], { cwd: app, stdio: "pipe" });
    writeFileSync(join(app, "app.mjs"), APP);
    const out = JSON.parse(execFileSync(process.execPath, ["app.mjs"], { cwd: app, encoding: "utf8" }).trim());
    assert.equal(out.steps, 20);
    assert.deepEqual(out.evals, [0, 10, 20]);
    assert.equal(out.sliced, out.loss, "two slices of 10 steps end where one run of 20 does");
    assert.ok(out.done);
    assert.ok(out.ffd > 0 && out.ffd <= 1, `FFD ${out.ffd}`);
    assert.ok(out.bytes > 16 * 16 * 4);
    assert.ok(out.loss > 0 && out.loss < 3, `train loss ${out.loss}`);
    assert.equal(out.d_vocab, 16);
    assert.ok(out.tasks >= 40);
    const tasks = execFileSync(join(app, "node_modules/.bin/grok"), ["tasks"], { cwd: app, encoding: "utf8" });
    assert.match(tasks, /^add\s+a\+b/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
