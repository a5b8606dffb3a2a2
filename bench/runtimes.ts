// `npm run check:runtimes [-- --p 23 --steps 300 --slice-steps 50 --workers 1,2]`: the same
// run trained by the command line in Node, Deno and Bun (each with every --workers count),
// and in workerd as the Cloudflare Worker (slices of --slice-steps, one request each, the
// state in a Durable Object between them). Prints a table: runtime, version, threads,
// ms/step (the runtime's own clock, steps only), the weights' hash, and whether weights and
// metrics (all but wall_s) are identical to Node's on one thread; then workerd's memory.
// Exits 1 on any difference. The runtimes are the pinned devDependencies' binaries.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "../src/node/args.js";
import { processMemory, startLocalWorker } from "../workers/cloudflare/local.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(root, "dist/src/node/cli.js");
const bin = (name: string): string => join(root, "node_modules/.bin", name);

interface Row {
  runtime: string;
  version: string;
  threads: string;
  msPerStep: number;
  weights: string;
  metrics: string;
}

const { flags } = parseArgs(process.argv.slice(2), new Set());
const p = String(flags.p ?? 23), steps = String(flags.steps ?? 300), slice = String(flags.slice_steps ?? 50);
const workerCounts = String(flags.workers ?? "1,2").split(",");
const runArgs = ["--p", p, "--steps", steps, "--no-report", "--quiet"];

const sha = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** The weights' and metrics' hashes of a run folder (metrics without wall_s, the one field a clock writes). */
function hashes(dir: string): Pick<Row, "weights" | "metrics"> & { msPerStep: number } {
  const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8").replace(/"wall_s":[-+0-9.e]+,?/g, "");
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { ms_per_step: number };
  return { weights: sha(readFileSync(join(dir, "model.safetensors"))), metrics: sha(metrics), msPerStep: summary.ms_per_step };
}

function version(command: string, args: string[]): string {
  const out = execFileSync(command, args, { encoding: "utf8" }).trim().split("\n")[0]!;
  return /\d+[.-]\d+[.-]\d+/.exec(out)?.[0] ?? out;
}

function cliRow(runtime: string, command: string, prefix: string[], workers: string, out: string): Row {
  const run = spawnSync(command, [...prefix, CLI, "train", ...runArgs, "--workers", workers, "--out", out], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${runtime} failed (exit ${run.status}): ${(run.stderr || run.stdout).trim().split("\n").at(-1)}`);
  return { runtime, version: version(command, ["--version"]), threads: workers, ...hashes(out) };
}

async function workerdRow(out: string): Promise<{ row: Row; memory: string }> {
  const worker = await startLocalWorker();
  const idle = worker.pid === undefined ? undefined : processMemory(worker.pid);
  try {
    const run = spawnSync(process.execPath, [CLI, "edge-train", worker.url, ...runArgs, "--slice-steps", slice, "--out", out], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`workerd failed (exit ${run.status}): ${(run.stderr || run.stdout).trim().split("\n").at(-1)}`);
    const requests = /(\d+) requests?\)/.exec(run.stdout)?.[1] ?? "?";
    const status = await (await fetch(`${worker.url}/runs/${JSON.parse(readFileSync(join(out, "summary.json"), "utf8")).edge.run}`)).json() as { peak_memory_bytes: number };
    const mem = worker.pid === undefined ? undefined : processMemory(worker.pid);
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const rss = mem && idle ? `; the workerd process's resident memory ${mib(idle.rss)} idle, at most ${mib(mem.peak)} (+${mib(mem.peak - idle.rss)} for the run)` : "";
    const memory = `workerd: the run's WebAssembly memory at most ${mib(status.peak_memory_bytes)}${rss}`;
    return { row: { runtime: `workerd (${requests} requests)`, version: version(bin("workerd"), ["--version"]), threads: "1", ...hashes(out) }, memory };
  } finally {
    await worker.dispose();
  }
}

const dir = mkdtempSync(join(tmpdir(), "grok-runtimes-"));
try {
  const rows: Row[] = [];
  const runtimes: [string, string, string[]][] = [["node", process.execPath, []], ["deno", bin("deno"), ["run", "-A"]], ["bun", bin("bun"), []]];
  for (const [name, command, prefix] of runtimes) {
    for (const w of workerCounts) rows.push(cliRow(name, command, prefix, w, join(dir, `${name}-${w}`)));
  }
  const { row, memory } = await workerdRow(join(dir, "workerd"));
  rows.push(row);
  const ref = rows[0]!;
  const table = [["runtime", "version", "threads", "ms/step", "weights sha256", "identical"], ...rows.map((r) => [
    r.runtime, r.version, r.threads, r.msPerStep.toFixed(1), r.weights.slice(0, 16), r.weights === ref.weights && r.metrics === ref.metrics ? "yes" : r.weights === ref.weights ? "weights only" : "NO",
  ])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  console.log(`p=${p}, ${steps} steps (task add, r=0.3, seed 0, the paper's model); workerd in slices of ${slice} steps`);
  for (const r of table) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
  console.log(memory);
  const differ = rows.filter((r) => r.weights !== ref.weights || r.metrics !== ref.metrics);
  if (differ.length > 0) {
    console.error(`not reproducible: ${differ.map((r) => `${r.runtime} (${r.threads} thread${r.threads === "1" ? "" : "s"})`).join(", ")} differ from node on 1 thread`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
