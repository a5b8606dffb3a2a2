// `npm run bench:queue`: the throughput of an 8-run sweep (p = 23, 300 steps each, the
// paper's model) through the queue (a real redis-server, `grok worker` processes with one
// run at a time each) with 1 and with 2 worker processes, side by side with the same sweep
// run locally (`grok sweep --concurrency 1` and 2): whole-process wall time, runs per hour.
// The queue's cost is the difference: enqueueing, job state in Redis, the run files sent back.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RedisServer } from "../test/redis-server.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const GRID = ["--task", "add,mul", "--seed", "0,1", "--frac", "0.5,0.7", "--p", "23", "--steps", "300", "--quiet"];
const grok = (args: string[]): void => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`grok ${args.join(" ")}: ${r.stderr}`);
};
const exited = (args: string[]): Promise<number | null> => new Promise((r) => spawn(process.execPath, [CLI, ...args], { stdio: "ignore" }).on("exit", r));

async function queued(workers: number): Promise<number> {
  const redis = await RedisServer.start();
  try {
    const t0 = performance.now();
    grok(["sweep", ...GRID, "--queue", redis.url]);
    await Promise.all(Array.from({ length: workers }, () => exited(["worker", "--queue", redis.url, "--concurrency", "1", "--until-empty", "--quiet"])));
    const out = mkdtempSync(join(tmpdir(), "grok-bench-queue-"));
    grok(["sweep", ...GRID, "--queue", redis.url, "--collect", "--out", out]);
    rmSync(out, { recursive: true, force: true });
    return (performance.now() - t0) / 1000;
  } finally {
    await redis.dispose();
  }
}

function local(concurrency: number): number {
  const out = mkdtempSync(join(tmpdir(), "grok-bench-local-"));
  const t0 = performance.now();
  grok(["sweep", ...GRID, "--concurrency", String(concurrency), "--out", out]);
  rmSync(out, { recursive: true, force: true });
  return (performance.now() - t0) / 1000;
}

console.log("8 runs, p=23, 300 steps each; wall time of the whole sweep (enqueue, train, collect)");
const rate = (s: number): string => `${s.toFixed(1)} s, ${((8 / s) * 3600).toFixed(0)} runs/hour`;
const rows: [string, number][] = [];
for (const n of [1, 2]) {
  rows.push([`local sweep, concurrency ${n}`, local(n)]);
  rows.push([`queue, ${n} worker process${n > 1 ? "es" : ""}`, await queued(n)]);
}
for (const [name, s] of rows) console.log(`  ${name.padEnd(32)} ${rate(s)}`);
console.log(`  queue: 2 workers / 1: ${(rows[1]![1] / rows[3]![1]).toFixed(2)}x; queue / local at 2: ${(rows[2]![1] / rows[3]![1]).toFixed(2)}x the throughput`);
