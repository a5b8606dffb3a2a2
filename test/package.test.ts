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

const APP = `
import { resolveConfig, Run, Trainer, runTraining, Vocab, TASKS } from "grokwasm";
import { loadEngine } from "grokwasm/node";
const config = resolveConfig({ p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", steps: "20", eval_every: "10" });
const run = Run.assemble(await loadEngine(), config);
const summary = await runTraining(new Trainer(run));
console.log(JSON.stringify({ steps: summary.steps, loss: summary.final.train_loss, d_vocab: new Vocab(11).size, tasks: TASKS.length }));
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
    assert.ok(out.loss > 0 && out.loss < 3, `train loss ${out.loss}`);
    assert.equal(out.d_vocab, 16);
    assert.ok(out.tasks >= 40);
    const tasks = execFileSync(join(app, "node_modules/.bin/grok"), ["tasks"], { cwd: app, encoding: "utf8" });
    assert.match(tasks, /^add\s+a\+b/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
