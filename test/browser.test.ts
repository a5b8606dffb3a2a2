// The browser lab in a real Chromium (Debian's, driven by playwright-core): served by
// `grok serve`, it trains on 1 and 2 worker threads to the bytes the Node CLI writes, keeps
// them through a pause, draws its charts without console errors, and says what is wrong with
// a bad expression beside the field. Screenshots go to dist/test-artifacts/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const RUN = { task: "add", p: "23", frac: "0.6", seed: "0", steps: "300", eval_every: "50", until_grokked: "false" };

let server: ChildProcess, plain: ChildProcess, url: string, plainUrl: string, browser: Browser;
const tmp = mkdtempSync(join(tmpdir(), "grok-browser-"));

// `grok serve` on a free port; resolves to the URL it prints.
function serve(...args: string[]): Promise<[ChildProcess, string]> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      const m = /http:\/\/[\d.]+:\d+\//.exec(d.toString());
      if (m) resolve([child, m[0]]);
    });
    child.on("exit", (code) => reject(new Error(`grok serve exited ${code}`)));
  });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM`);
  [server, url] = await serve();
  [plain, plainUrl] = await serve("--no-isolation");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
  plain?.kill();
  rmSync(tmp, { recursive: true, force: true });
});

/** The lab with a config in its URL, and the console errors it logs. */
async function open(base: string, config: Record<string, string>, workers: number): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}?${new URLSearchParams({ ...config, workers: String(workers) })}`);
  return { page, errors };
}

async function download(page: Page, button: string): Promise<Buffer> {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const path = join(tmp, `${Date.now()}-${dl.suggestedFilename()}`);
  await dl.saveAs(path);
  return readFileSync(path);
}

/** What the CLI writes for the same config. */
function cliRun(): { model: Buffer; config: string; metrics: string } {
  const out = join(tmp, "cli");
  const r = spawnSync(process.execPath, [CLI, "train", "--p", RUN.p, "--frac", RUN.frac, "--steps", RUN.steps, "--eval-every", RUN.eval_every, "--workers", "1", "--no-report", "--quiet", "--force", "--out", out], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return { model: readFileSync(join(out, "model.safetensors")), config: readFileSync(join(out, "config.json"), "utf8"), metrics: readFileSync(join(out, "metrics.jsonl"), "utf8") };
}

const withoutWall = (jsonl: string): string => jsonl.trim().split("\n").map((l) => { const { wall_s: _, ...m } = JSON.parse(l); return JSON.stringify(m); }).join("\n");

test("the lab trains a p = 23 run to its end on 1 and 2 workers: the CLI's bytes, charts drawn, no console errors", async () => {
  const cli = cliRun();
  for (const workers of [1, 2]) {
    const { page, errors } = await open(url, RUN, workers);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, "grok serve isolates the page");
    await page.click("#start");
    await page.waitForSelector("#status[data-done=true]", { timeout: 120_000 });
    assert.match((await page.textContent("#status"))!, /^done at step 300/);
    await page.waitForFunction(() => document.querySelectorAll("#charts .chart svg.marks").length >= 7, null, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, `lab-${workers}-workers.png`), fullPage: true });
    assert.ok((await download(page, "#dl-model")).equals(cli.model), `${workers} workers: model.safetensors differs from the CLI's`);
    assert.equal((await download(page, "#dl-config")).toString(), cli.config);
    assert.equal(withoutWall((await download(page, "#dl-metrics")).toString()), withoutWall(cli.metrics));
    assert.deepEqual(errors, [], "no console errors");
    await page.close();
  }
});

test("pause and resume keep the bits", async () => {
  const cli = cliRun();
  const { page, errors } = await open(url, RUN, 2);
  await page.click("#start");
  await page.waitForFunction(() => /^step (1\d\d|2\d\d):/.test(document.getElementById("status")!.textContent ?? ""), null, { timeout: 60_000 });
  await page.click("#pause");
  // the lab's thread takes part in each step and reads messages between steps
  await page.waitForFunction(() => /^paused at step \d+/.test(document.getElementById("status")!.textContent ?? ""), null, { timeout: 10_000 });
  const paused = await page.textContent("#status");
  await page.waitForTimeout(500);
  assert.equal(await page.textContent("#status"), paused, "nothing moves while paused");
  await page.click("#pause");
  await page.waitForSelector("#status[data-done=true]", { timeout: 60_000 });
  assert.ok((await download(page, "#dl-model")).equals(cli.model), "model.safetensors differs from the CLI's after a pause");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a bad expression is named beside the task field; nothing starts", async () => {
  const { page } = await open(url, { ...RUN, task: "a+*b" }, 1);
  await page.click("#start");
  const message = await page.textContent("#task-error");
  assert.match(message!, /unknown task 'a\+\*b'.*cannot parse "a\+\*b": expected a number, a, b or '\(' at position 3/);
  assert.equal(await page.textContent("#status"), "Set a task and press Start.");
  await page.fill("#p", "21");
  await page.fill("#task", "add");
  await page.click("#start");
  assert.match((await page.textContent("#p-error"))!, /--p must be a prime between 3 and 257, got 21 \(not prime\)/);
  await page.screenshot({ path: join(ARTIFACTS, "lab-error.png") });
  await page.close();
});

test("without cross-origin isolation the lab says so and trains on one thread, to the same bytes", async () => {
  const cli = cliRun();
  const { page, errors } = await open(plainUrl, RUN, 2);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  assert.match((await page.textContent("#isolation"))!, /not cross-origin isolated.*one thread/);
  assert.deepEqual(await page.$$eval("#workers option", (os) => os.map((o) => (o as HTMLOptionElement).value)), ["1"]);
  await page.click("#start");
  await page.waitForSelector("#status[data-done=true]", { timeout: 120_000 });
  assert.ok((await download(page, "#dl-model")).equals(cli.model));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a run folder dropped on the page is drawn; with a checkpoint it trains on to the CLI's bytes", async () => {
  const out = join(tmp, "folder");
  const half = spawnSync(process.execPath, [CLI, "train", "--p", RUN.p, "--frac", RUN.frac, "--steps", "150", "--eval-every", RUN.eval_every, "--workers", "1", "--quiet", "--force", "--out", out], { encoding: "utf8" });
  assert.equal(half.status, 0, half.stderr);
  const { page, errors } = await open(url, {}, 1);
  await page.setInputFiles("#files", ["config.json", "metrics.jsonl", "model.safetensors", "progress.jsonl"].map((f) => join(out, f)));
  await page.waitForFunction(() => /^viewing a run: add mod 23, 150 steps/.test(document.getElementById("status")!.textContent ?? ""), null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll("#charts .chart svg.marks").length >= 7, null, { timeout: 30_000 });
  // The run's last checkpoint (step 150), with --steps 300 in its config: trains on to step 300.
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  writeFileSync(join(out, "config.json"), JSON.stringify({ ...config, steps: 300 }));
  await page.setInputFiles("#files", ["config.json", "metrics.jsonl", "progress.jsonl", "checkpoints/step-150.safetensors"].map((f) => join(out, f)));
  await page.waitForSelector("#status[data-done=true]", { timeout: 60_000 });
  assert.ok((await download(page, "#dl-model")).equals(cliRun().model), "trained on from the checkpoint: the CLI's bytes");
  assert.deepEqual(errors, []);
  await page.close();
});
