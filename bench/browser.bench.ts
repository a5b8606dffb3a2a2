// `npm run bench:browser [-- --rounds 2 --steps 300] [--grok]`: ms/step at p = 97 (the
// paper's setup) in the browser lab (Debian's Chromium, driven by playwright-core, served by
// `grok serve` with cross-origin isolation) and in Node's CLI, with 1 and 2 workers,
// alternating over rounds in one run; medians. Both clocks time training steps only.
// `--grok` then trains (a+b) mod 97 in the page until it groks and reports the time.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { parseArgs } from "../src/node/args.js";
import { median } from "./median.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const { flags } = parseArgs(process.argv.slice(2), new Set(["grok"]));
const rounds = Number(flags.rounds ?? 2), steps = String(flags.steps ?? 300);

function serve(): Promise<[ChildProcess, string]> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => child.stdout!.on("data", (d: Buffer) => {
    const m = /http:\/\/\S+\//.exec(String(d));
    if (m) resolve([child, m[0]]);
  }));
}

/** Trains in the lab page; returns the ms/step and the seconds the page's run took. */
async function inPage(browser: Browser, url: string, query: Record<string, string>, timeoutMs: number): Promise<{ ms: number; text: string; seconds: number }> {
  const page = await browser.newPage();
  try {
    await page.goto(`${url}?${new URLSearchParams(query)}`);
    const t0 = performance.now();
    await page.click("#start");
    await page.waitForSelector("#status[data-done=true]", { timeout: timeoutMs });
    const text = (await page.textContent("#status")) ?? "";
    const ms = /\(([\d.]+) ms\/step\)/.exec(text);
    if (!ms) throw new Error(`the lab ended with: ${text}`);
    return { ms: Number(ms[1]), text, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await page.close();
  }
}

function inNode(workers: number): number {
  const out = mkdtempSync(join(tmpdir(), "grok-bench-node-"));
  try {
    const r = spawnSync(process.execPath, [CLI, "train", "--steps", steps, "--workers", String(workers), "--no-report", "--quiet", "--out", out], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return (JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { ms_per_step: number }).ms_per_step;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const [server, url] = await serve();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const times: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (times[k] ??= []).push(v);
  for (let r = 1; r <= rounds; r++) {
    for (const w of [1, 2]) {
      add(`chromium ${w}`, (await inPage(browser, url, { task: "add", p: "97", steps, until_grokked: "false", workers: String(w) }, 600000)).ms);
      add(`node ${w}`, inNode(w));
    }
    console.log(`round ${r}: ${Object.entries(times).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(1)}`).join(", ")}`);
  }
  const chromiumVersion = browser.version();
  console.log(`\ntraining step, p=97 r=0.3 (the paper's setup), ${steps} steps; median ms/step over ${rounds} rounds (Chromium ${chromiumVersion}, Node ${process.versions.node})`);
  console.log("  workers   Chromium (lab)   Node (CLI)   Chromium / Node");
  for (const w of [1, 2]) {
    const c = median(times[`chromium ${w}`]!), n = median(times[`node ${w}`]!);
    console.log(`  ${String(w).padEnd(9)} ${c.toFixed(1).padStart(10)}   ${n.toFixed(1).padStart(10)}   ${(c / n).toFixed(2).padStart(10)}x`);
  }
  if (flags.grok === true) {
    const run = await inPage(browser, url, { task: "add", p: "97", workers: "2" }, 3600000);
    console.log(`\nthe lab at the paper's defaults, 2 workers: ${run.text}; ${run.seconds.toFixed(0)} s from Start to the end`);
  }
} finally {
  await browser.close();
  server.kill();
}
