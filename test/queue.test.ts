// Sweeps across machines on BullMQ, against a real redis-server and real `grok worker`
// processes: the same summary as a local sweep, enqueueing twice adds nothing, a bad job
// fails once with its error, a worker killed with SIGKILL has its run resumed elsewhere from
// its checkpoint bit-identically, SIGTERM puts a run back in the queue, a Redis restart
// mid-sweep is survived, and a password and TLS work.

import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RedisServer, type RedisOptions } from "./redis-server.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env } });

/** Every worker started, killed after each test (one a failed test left running holds the test process). */
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** A redis-server of its own and a temporary folder for one test, both gone after it. */
async function withRedis(body: (redis: RedisServer, root: string) => Promise<void>, options: RedisOptions = {}): Promise<void> {
  const redis = await RedisServer.start(options);
  const root = mkdtempSync(join(tmpdir(), "grok-queue-"));
  try {
    await body(redis, root);
  } finally {
    await redis.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A `grok worker` process; its log lines collect in `log`. */
function startWorker(url: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; log: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "worker", "--queue", url, "--concurrency", "1", "--stall-timeout", "2", ...extra], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  started.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, log: () => out, exit: new Promise((r) => child.on("exit", r)) };
}

const withoutWall = (text: string): string => text.replace(/"wall_s":[-+0-9.e]+/g, "");
const runFolder = (sweep: string): string => join(sweep, "runs", readdirSync(join(sweep, "runs"))[0]!);

async function until(what: string, ok: () => boolean, ms = 60000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 200))) if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
}

const SMALL_MODEL = ["--d-model", "32", "--d-head", "8", "--d-mlp", "64"];
const GRID = ["--task", "add,mul", "--seed", "0,1", "--frac", "0.5,0.7", "--p", "23", ...SMALL_MODEL, "--steps", "300", "--quiet"];
/** One longer run (several seconds even on a fast machine, so it is still under way when killed) with frequent checkpoints. */
const LONG = ["--task", "add", "--p", "23", "--steps", "5000", "--ckpt-every", "100", "--eval-every", "50", "--quiet"];

test("queue: 8 runs on two workers give the local sweep's summary; enqueueing twice adds nothing; a bad run fails once, with its error", () =>
  withRedis(async (redis, root) => {
    const first = grok(["sweep", ...GRID, "--queue", redis.url]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /8 runs: 8 enqueued, 0 already in the queue/);
    assert.match(grok(["sweep", ...GRID, "--queue", redis.url]).stdout, /8 runs: 0 enqueued, 8 already in the queue/);
    assert.match(grok(["sweep", "--task", "add", "--p", "23,24", "--steps", "50", "--queue", redis.url]).stdout, /2 runs: 2 enqueued/);
    const workers = [startWorker(redis.url, ["--until-empty"]), startWorker(redis.url, ["--until-empty"])];
    const codes = await Promise.all(workers.map((w) => w.exit));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.log()).join("\n"));
    assert.ok(workers.every((w) => /done/.test(w.log())), "both workers trained runs");

    const collected = grok(["sweep", ...GRID, "--queue", redis.url, "--collect", "--out", join(root, "queued")]);
    assert.equal(collected.status, 0, collected.stderr);
    assert.equal(grok(["sweep", ...GRID, "--concurrency", "2", "--out", join(root, "local")]).status, 0);
    assert.equal(readFileSync(join(root, "queued", "summary.csv"), "utf8"), readFileSync(join(root, "local", "summary.csv"), "utf8"));
    for (const f of readdirSync(join(root, "local", "runs"))) {
      assert.deepEqual(readFileSync(join(root, "queued", "runs", f, "model.safetensors")), readFileSync(join(root, "local", "runs", f, "model.safetensors")), f);
    }

    const status = grok(["sweep", "--task", "add", "--p", "23,24", "--steps", "50", "--queue", redis.url, "--status"]);
    assert.match(status.stdout, /2 runs: 1 done, 0 running, 1 failed, 0 waiting/);
    assert.match(status.stdout, /failed: p=24: --p must be a prime .* got 24 \(not prime\)/);
    assert.equal(workers.map((w) => w.log().match(/p=24: failed/g)?.length ?? 0).reduce((a, b) => a + b), 1, "failed once, not retried");
  }));

test("queue: a worker killed with SIGKILL mid-run: another resumes its run from the last checkpoint, bit-identical to a local run", () =>
  withRedis(async (redis, root) => {
    assert.equal(grok(["sweep", ...LONG, "--queue", redis.url]).status, 0);
    const a = startWorker(redis.url);
    await until("a checkpoint at step 300", () => /running: .* at step ([3-9]\d\d|[1-4]\d\d\d)/.test(grok(["sweep", ...LONG, "--queue", redis.url, "--status"]).stdout));
    a.child.kill("SIGKILL");
    await a.exit;
    const b = startWorker(redis.url, ["--until-empty"]);
    assert.equal(await b.exit, 0, b.log());
    const resumed = /resuming at step (\d+)/.exec(b.log());
    assert.ok(resumed && Number(resumed[1]) >= 300, `resumed from a checkpoint, not step 0: ${b.log()}`);
    assert.equal(grok(["sweep", ...LONG, "--queue", redis.url, "--collect", "--out", join(root, "queued")]).status, 0);
    assert.equal(grok(["train", ...LONG, "--workers", "1", "--no-report", "--out", join(root, "local")]).status, 0);
    const q = runFolder(join(root, "queued"));
    assert.deepEqual(readFileSync(join(q, "model.safetensors")), readFileSync(join(root, "local", "model.safetensors")));
    assert.equal(withoutWall(readFileSync(join(q, "metrics.jsonl"), "utf8")), withoutWall(readFileSync(join(root, "local", "metrics.jsonl"), "utf8")));
  }));

test("queue: SIGTERM puts the run in flight back in the queue at its checkpoint and the worker exits 0; Redis restarted mid-sweep, the sweep completes", () =>
  withRedis(async (redis, root) => {
    assert.equal(grok(["sweep", ...LONG, "--queue", redis.url]).status, 0);
    const a = startWorker(redis.url);
    await until("the run under way", () => /started/.test(a.log()));
    await new Promise((r) => setTimeout(r, 1500));
    a.child.kill("SIGTERM");
    assert.equal(await a.exit, 0, a.log());
    assert.match(a.log(), /stopped at step \d+, back in the queue/);
    assert.match(grok(["sweep", ...LONG, "--queue", redis.url, "--status"]).stdout, /1 runs: 0 done, 0 running, 0 failed, 1 waiting/);

    // The rest with two workers and a coordinator waiting, while Redis goes away and comes back.
    assert.equal(grok(["sweep", ...GRID, "--queue", redis.url]).status, 0);
    const workers = [startWorker(redis.url, ["--until-empty"]), startWorker(redis.url, ["--until-empty"])];
    const waiting = spawn(process.execPath, [CLI, "sweep", ...GRID, "--queue", redis.url, "--wait", "--out", join(root, "grid")], { stdio: ["ignore", "pipe", "pipe"] });
    started.push(waiting);
    let waitLog = "";
    waiting.stdout!.on("data", (d) => (waitLog += d));
    waiting.stderr!.on("data", (d) => (waitLog += d));
    const waited = new Promise<number | null>((r) => waiting.on("exit", r));
    await until("a run done", () => workers.some((w) => /done/.test(w.log())));
    await redis.restart(1500);
    assert.equal(await waited, 0, waitLog);
    assert.deepEqual(await Promise.all(workers.map((w) => w.exit)), [0, 0], workers.map((w) => w.log()).join("\n"));
    const rows = JSON.parse(readFileSync(join(root, "grid", "summary.json"), "utf8")).rows as { status: string }[];
    assert.deepEqual(rows.map((r) => r.status), Array(8).fill("done"));
    assert.match(grok(["sweep", ...LONG, "--queue", redis.url, "--status"]).stdout, /1 runs: 1 done/);
  }));

test("queue: a password in the URL and TLS through rediss:// work; a wrong password or no server is one clear line", () =>
  withRedis(async (redis) => {
    const env = { NODE_EXTRA_CA_CERTS: redis.ca! };
    const tiny = ["--task", "add", "--p", "11", "--steps", "20", "--quiet"];
    assert.equal(grok(["sweep", ...tiny, "--queue", redis.url], env).status, 0);
    const w = startWorker(redis.url, ["--until-empty"], env);
    assert.equal(await w.exit, 0, w.log());
    assert.match(grok(["sweep", ...tiny, "--queue", redis.url, "--status"], env).stdout, /1 runs: 1 done/);
    const wrong = grok(["sweep", ...tiny, "--queue", redis.url.replace("s3cret-pw", "nope"), "--status"], env);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^grok: error: Redis at rediss:\/\/:\*\*\*@localhost:\d+ refused the password/);
    assert.doesNotMatch(wrong.stderr, /nope/, "the password is not printed");
    const none = grok(["sweep", ...tiny, "--queue", "redis://127.0.0.1:9", "--status"]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:9 \(connection refused\)/);
    const bad = grok(["worker", "--queue", "http://localhost:6379"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--queue takes redis:\/\//);
  }, { password: "s3cret-pw", tls: true }));
