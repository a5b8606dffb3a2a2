// Hostile input, full disks, closed pipes, signals and two processes on one folder: every
// failure is one line on stderr with its exit code, no stack trace, and no half-written or
// mixed run folder.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeSafetensors, encodeSafetensors } from "../src/core/io/safetensors.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: opts.cwd, env: { ...process.env, ...opts.env } });

type Result = { status: number | null; stderr: string };

/** `grok` with many argument lists, a few at a time. */
async function grokAll(argLists: string[][], concurrency = 4): Promise<Result[]> {
  const results: Result[] = new Array(argLists.length);
  let next = 0;
  const one = (args: string[]): Promise<Result> => new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stderr }));
  });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < argLists.length; i = next++) results[i] = await one(argLists[i]!);
  }));
  return results;
}
const TINY = ["--p", "5", "--d-model", "8", "--n-heads", "2", "--d-head", "4", "--d-mlp", "8", "--workers", "1", "--quiet"];

/** Rejected cleanly: the exit code, one line on stderr, no trace. */
function clean(r: Result, code = 2): boolean {
  const lines = r.stderr.trimEnd().split("\n");
  return r.status === code && lines.length === 1 && lines[0]!.startsWith("grok: error: ") && !/\n\s+at /.test(r.stderr);
}

test("hostile train options and expressions: each is one line, exit 2, nothing written", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-hostile-"));
  try {
    const out = join(root, "never");
    const bad: string[][] = [
      ["--task", "(".repeat(2000) + "a" + ")".repeat(2000)], [`--task=${"-".repeat(10000)}a`], [`--task=${"-".repeat(40)}a`],
      ["--task", "a".repeat(301)], ["--task", Array(20).fill("add").join(",")], ["--task", "add,add"], ["--task", ","], ["--task", ""], ["--task", " "],
      ["--task", "a^99"], ["--task", "a^-1"], ["--task", "a^b"], ["--task", "c+d"], ["--task", "a++"], ["--task", "()"], ["--task", "a/(b-b)"],
      ["--task", "a\u202eb"], ["--task", "1e5"], ["--task", "a+b,b+a"], ["--task", "rand,rand"],
      ["--d-model", "4096", "--n-heads", "4096", "--d-head", "4096"], ["--p", "257", "--frac", "0.9", "--d-mlp", "4096", "--max-memory", "2G"], ["--max-memory", "1K"],
      ["--max-memory", "lots"], ["--max-memory", "-1G"],
    ];
    const numbers: Record<string, string[]> = {
      p: ["0x0b", " 11 ", "1.1e1", "11.0", "-11", "0", "1", "2", "4", "21", "259", "1e9", "NaN", "Infinity", "", "eleven", "97abc"],
      frac: ["0", "1", "1.5", "-0.3", "NaN", "0x1", ".", "3e", "1/3"],
      seed: ["-1", "1.5", "4294967296", "x", "1e3"],
      steps: ["0", "-5", "2.5", "1e4", "many"],
      eval_every: ["0", "-1", "0.5"],
      lr: ["0", "-1e-3", "1e999", "fast", "0x10"],
      weight_decay: ["-1", "NaN"],
      beta1: ["1", "-0.1", "2"],
      beta2: ["1.5"],
      eps: ["0", "-1e-8"],
      d_model: ["0", "4097", "x"], n_heads: ["0", "-2"], d_head: ["0"], d_mlp: ["0", "1e3"],
      ckpt_every: ["-1", "x"], keep_ckpts: ["-1"],
      workers: ["0", "9", "two", "1.5"],
    };
    for (const [key, values] of Object.entries(numbers)) for (const v of values) bad.push([`--${key.replace(/_/g, "-")}`, v]);
    bad.push(["--path", "slow"], ["--load", "embed"], ["--freeze", "everything"], ["--init-from", join(root, "nowhere")],
      ["--force=yes"], ["--quiet=1"], ["--no-report=maybe"], ["--until-grokked=maybe"], ["--stepz", "10"], ["--", "x"], ["--p"], ["positional"],
      ["--p", "5", "--p", "7"], ["--resume"], ["--resume", join(root, "nowhere")], ["--resume", root, "--lr", "1"], ["--out", "/proc/grok-unwritable/run"]);
    let cleanCount = 0;
    // Each case its own folder, so one that writes is named (they run concurrently).
    const outOf = (i: number): string => `${out}-${i}`;
    const results = await grokAll(bad.map((args, i) => ["train", ...args, ...(args.includes("--out") ? [] : ["--out", outOf(i)]), ...(args.includes("--steps") ? [] : ["--steps", "1"])]));
    results.forEach((r, i) => {
      if (clean(r) && !existsSync(outOf(i))) cleanCount++;
      else assert.fail(`${JSON.stringify(bad[i]).slice(0, 120)}: exit ${r.status}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
    });
    console.log(`  train options and expressions: ${bad.length} tried, ${cleanCount} handled cleanly`);
    // A long valid expression without --out gets a short default folder name.
    const expr = Array(40).fill("(a+b)").join("+");
    const r = grok(["train", "--task", expr, ...TINY, "--steps", "2", "--no-report"], { cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const [folder] = readdirSync(join(root, "runs"));
    assert.ok(folder!.length < 80, folder);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// A finished run to break: config, metrics, summary and model of a tiny model.
function finishedRun(root: string): string {
  const dir = join(root, "base");
  assert.equal(grok(["train", ...TINY, "--steps", "20", "--eval-every", "10", "--no-report", "--out", dir]).status, 0);
  return dir;
}

type Corruption = [name: string, file: string, content: string | Uint8Array | ((b: Buffer) => string | Uint8Array) | "folder"];

function safetensorsEdit(edit: (header: Record<string, any>) => void, data?: (d: Uint8Array) => Uint8Array) {
  return (b: Buffer): Uint8Array => {
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + n).toString());
    edit(header);
    const json = Buffer.from(JSON.stringify(header));
    const body = data ? data(b.subarray(8 + n)) : b.subarray(8 + n);
    const out = Buffer.alloc(8 + json.length + body.length);
    out.writeBigUInt64LE(BigInt(json.length));
    json.copy(out, 8);
    Buffer.from(body).copy(out, 8 + json.length);
    return out;
  };
}

const withTensors = (f: (t: Map<string, { name: string; shape: number[]; data: Float32Array }>) => void) => (b: Buffer): Uint8Array => {
  const { tensors, metadata } = decodeSafetensors(b);
  f(tensors);
  return encodeSafetensors([...tensors.values()], metadata);
};

test("analyze on corrupted run folders: each is one line, exit 2, nothing written", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-corrupt-"));
  try {
    const base = finishedRun(root);
    const W = "blocks.0.attn.W_Q";
    const cases: Corruption[] = [];
    for (const v of ["null", "5", "[]", "\"x\"", "", "{", '{"p":"x"}', '{"p":null}', '{"p":7}', '{"seed":"0"}', '{"task":"mul","p":5,"d_model":8,"n_heads":2,"d_head":4,"d_mlp":8}', '{"p":5,"d_model":8,"n_heads":2,"d_head":4,"d_mlp":8,"seed":3}', '{"p":5,"d_model":8,"n_heads":2,"d_head":4,"d_mlp":16}', '{"until_grokked":"yes"}', '{"lr":-1}'])
      cases.push([`config.json ${v}`, "config.json", v]);
    for (const v of ["null", "5", "{}", "[]", '{"final":null}', "", "{bad"])
      cases.push([`summary.json ${v}`, "summary.json", v]);
    cases.push(["summary.json stopped=x", "summary.json", (b) => b.toString().replace(/"stopped": "\w+"/, '"stopped": "x"')]);
    cases.push(["summary.json steps=-1", "summary.json", (b) => b.toString().replace(/"steps": \d+/, '"steps": -1')]);
    cases.push(["summary.json final.test_acc a string", "summary.json", (b) => b.toString().replace(/"test_acc": [\d.e-]+/, '"test_acc": "high"')]);
    for (const v of ["null\n", "", "\n", "5\n", '{"step":"0"}\n', '{"step":0}\n'])
      cases.push([`metrics.jsonl ${JSON.stringify(v)}`, "metrics.jsonl", v]);
    cases.push(["metrics.jsonl a null line", "metrics.jsonl", (b) => b.toString() + "null\n"]);
    cases.push(["metrics.jsonl a torn last line", "metrics.jsonl", (b) => b.toString() + '{"step":30,"train_lo']);
    cases.push(["metrics.jsonl a string loss", "metrics.jsonl", (b) => b.toString().replace(/"train_loss":[\d.e-]+/, '"train_loss":"low"')]);
    const st = "model.safetensors";
    cases.push(
      ["model: empty", st, ""], ["model: 3 bytes", st, "abc"], ["model: text", st, "hello world, not a checkpoint at all"],
      ["model: header length past the end", st, (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(BigInt(b.length)); return c; }],
      ["model: null header", st, safetensorsEdit((h) => { for (const k of Object.keys(h)) delete h[k]; Object.assign(h, { x: null }); })],
      ["model: null entry", st, safetensorsEdit((h) => { h[W] = null; })],
      ["model: shape missing", st, safetensorsEdit((h) => { delete h[W].shape; })],
      ["model: shape null", st, safetensorsEdit((h) => { h[W].shape = null; })],
      ["model: shape a string", st, safetensorsEdit((h) => { h[W].shape = "2,4,8"; })],
      ["model: shape of strings", st, safetensorsEdit((h) => { h[W].shape = h[W].shape.map(String); })],
      ["model: data_offsets missing", st, safetensorsEdit((h) => { delete h[W].data_offsets; })],
      ["model: data_offsets null", st, safetensorsEdit((h) => { h[W].data_offsets = null; })],
      ["model: negative offsets", st, safetensorsEdit((h) => { h[W].data_offsets = h[W].data_offsets.map((o: number) => o - 10000); })],
      ["model: fractional offsets", st, safetensorsEdit((h) => { h[W].data_offsets = h[W].data_offsets.map((o: number) => o + 0.5); })],
      ["model: misaligned offsets", st, safetensorsEdit((h) => { for (const t of Object.values(h) as any[]) if (t.data_offsets) t.data_offsets = t.data_offsets.map((o: number) => o + 2); }, (d) => Buffer.concat([Buffer.alloc(2), d]))],
      ["model: shared offsets", st, safetensorsEdit((h) => { h["blocks.0.attn.W_K"].data_offsets = h[W].data_offsets; })],
      ["model: overlapping offsets", st, safetensorsEdit((h) => { const t = h["unembed.W_U"]; t.data_offsets = t.data_offsets.map((o: number) => o - 4); }, (d) => d.subarray(0, d.length - 4))],
      ["model: trailing bytes", st, (b) => Buffer.concat([b, Buffer.alloc(16)])],
      ["model: truncated", st, (b) => b.subarray(0, b.length - 20)],
      ["model: F16 dtype", st, safetensorsEdit((h) => { h[W].dtype = "F16"; })],
      ["model: extra tensor", st, withTensors((t) => t.set("extra", { name: "extra", shape: [2], data: new Float32Array(2) }))],
      ["model: missing tensor", st, withTensors((t) => t.delete(W))],
      ["model: all NaN", st, withTensors((t) => { for (const x of t.values()) x.data.fill(NaN); })],
      ["model: all Inf", st, withTensors((t) => { for (const x of t.values()) x.data.fill(Infinity); })],
      ["model: one NaN", st, withTensors((t) => { t.get(W)!.data[3] = NaN; })],
      ["model: another p", st, withTensors((t) => { const e = t.get("embed.W_E")!; t.set("embed.W_E", { ...e, shape: [8, 12], data: new Float32Array(96) }); })],
      ["model: unknown format tag", st, safetensorsEdit((h) => { h.__metadata__.grokwasm = "v9"; })],
      ["model: newer version", st, safetensorsEdit((h) => { h.__metadata__.grokwasm_version = "7"; })],
      ["model: metadata config of another p", st, safetensorsEdit((h) => { h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config), p: 7 }); })],
      ["model: metadata config of another task", st, safetensorsEdit((h) => { h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config), task: "mul" }); })],
      ["model: metadata config of another seed", st, safetensorsEdit((h) => { h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config), seed: 9 }); })],
      ["model: metadata not strings", st, safetensorsEdit((h) => { h.__metadata__.step = 5; })],
    );
    for (const f of ["config.json", "summary.json", "metrics.jsonl", "model.safetensors"]) cases.push([`${f} is a folder`, f, "folder"]);
    for (const f of ["config.json", "summary.json", "metrics.jsonl", "model.safetensors"]) cases.push([`${f} missing`, f, "missing" as never]);
    let cleanCount = 0;
    const dirs = cases.map(([, file, content], i) => {
      const dir = join(root, `case-${i}`);
      cpSync(base, dir, { recursive: true });
      const path = join(dir, file);
      if ((content as string) === "missing") rmSync(path);
      else if (content === "folder") { rmSync(path); mkdirSync(path); }
      else writeFileSync(path, typeof content === "function" ? content(readFileSync(path)) : content);
      return dir;
    });
    const results = await grokAll(dirs.map((dir) => ["analyze", dir]));
    results.forEach((r, i) => {
      const written = ["analysis.json", "report.html"].filter((f) => existsSync(join(dirs[i]!, f)));
      if (clean(r) && written.length === 0) cleanCount++;
      else assert.fail(`${cases[i]![0]}: exit ${r.status}, wrote ${written.join(", ") || "nothing"}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`);
    });
    console.log(`  analyze on corrupted run folders: ${cases.length} tried, ${cleanCount} handled cleanly`);
    assert.equal(grok(["analyze", base]).status, 0, "the uncorrupted folder analyses");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a closed stdout: grok tasks | head ends quietly; a run's files are still written whole", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-pipe-"));
  try {
    const pipeClosed = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.stdout.destroy(); // the reader went away (| head -c0)
      child.on("exit", (code) => resolve({ code, stderr }));
    });
    const tasks = await pipeClosed(["tasks"]);
    assert.deepEqual(tasks, { code: 0, stderr: "" });
    const dir = join(root, "run");
    const train = await pipeClosed(["train", ...TINY, "--steps", "20", "--out", dir]);
    assert.equal(train.code, 0, train.stderr);
    assert.ok(["config.json", "metrics.jsonl", "model.safetensors", "summary.json", "analysis.json", "report.html"].every((f) => existsSync(join(dir, f))), "every file, the report included");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// A folder on a 256 KB tmpfs, or (where the machine may not mount one) a hook that makes every
// write under the folder fail with ENOSPC once 200 KB were written.
function smallDisk(root: string): { dir: string; env: NodeJS.ProcessEnv; done: () => void } {
  const dir = join(root, "disk");
  mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir], { stdio: "ignore" });
    return { dir, env: {}, done: () => execFileSync("umount", [dir]) };
  } catch {
    const hook = join(root, "enospc.mjs");
    writeFileSync(hook, `import fs from "node:fs"; import { syncBuiltinESMExports } from "node:module";
let left = 200000; const under = (p) => typeof p === "string" && p.startsWith(${JSON.stringify(dir)});
const fds = new Set(); const open = fs.openSync;
fs.openSync = (p, ...r) => { const fd = open(p, ...r); if (under(p)) fds.add(fd); return fd; };
const full = (n) => { left -= n; if (left < 0) { const e = new Error("ENOSPC: no space left on device, write"); e.code = "ENOSPC"; e.syscall = "write"; throw e; } };
for (const name of ["writeFileSync", "appendFileSync"]) { const f = fs[name]; fs[name] = (p, d, ...r) => { if (under(p) || fds.has(p)) full(typeof d === "string" ? Buffer.byteLength(d) : d.length); return f(p, d, ...r); }; }
syncBuiltinESMExports();\n`);
    return { dir, env: { NODE_OPTIONS: `--import ${hook}` }, done: () => {} };
  }
}

test("a full disk: one line naming the device and the fix, exit 1, metrics.jsonl ends with a whole line, no temp files", () => {
  const root = mkdtempSync(join(tmpdir(), "grok-disk-"));
  const disk = smallDisk(root);
  try {
    const dir = join(disk.dir, "run");
    const r = grok(["train", ...TINY, "--steps", "5000", "--eval-every", "1", "--ckpt-every", "5", "--keep-ckpts", "1000", "--out", dir], { env: disk.env });
    assert.ok(clean(r, 1), `exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /no space left on the device \(.*\) while \w+: free some space or write elsewhere \(--out\)/);
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    assert.ok(metrics.length > 0 && metrics.endsWith("\n"), "whole lines only");
    for (const line of metrics.trimEnd().split("\n")) JSON.parse(line);
    const left = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? left(join(d, e.name)) : e.name.endsWith(".tmp") ? [e.name] : []));
    assert.deepEqual(left(dir), [], "no temp files left");
  } finally {
    disk.done();
    rmSync(root, { recursive: true, force: true });
  }
});

test("two --force runs into one folder at once: one trains, the other gets the lock message; a killed --force leaves the old run whole", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-lock-"));
  try {
    const dir = join(root, "run");
    assert.equal(grok(["train", ...TINY, "--steps", "10", "--seed", "1", "--no-report", "--out", dir]).status, 0);
    const start = (seed: string, steps = "3000") => spawn(process.execPath, [CLI, "train", ...TINY, "--steps", steps, "--seed", seed, "--no-report", "--force", "--out", dir], { stdio: ["ignore", "ignore", "pipe"] });
    const ended = (c: ReturnType<typeof start>) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      let stderr = "";
      c.stderr!.on("data", (d) => (stderr += d));
      c.on("exit", (code) => resolve({ code, stderr }));
    });
    const first = start("2", "1000000");
    const firstEnded = ended(first);
    while (!existsSync(join(dir, "grok.lock"))) await new Promise((r) => setTimeout(r, 5));
    const second = await ended(start("3"));
    assert.equal(second.code, 2);
    assert.match(second.stderr, /^grok: error: .*run is in use by process \d+ on .* since .* \(grok train .*\): wait for it to end or stop it\n$/);
    first.kill("SIGINT");
    assert.equal((await firstEnded).code, 130);
    assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).seed, 2, "the first run won, whole");
    assert.ok(!existsSync(join(dir, "grok.lock")) && readdirSync(root).length === 1, "no lock or temp folder left");

    // --force, then SIGKILL mid-run: the old run (seed 2) is still whole and analyses.
    const killed = start("4", "100000");
    while (!readdirSync(root).some((f) => f.includes(".grok-new-"))) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300));
    killed.kill("SIGKILL");
    await ended(killed);
    const a = grok(["analyze", dir]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).seed, 2);
    // The next --force clears the dead run's leftovers.
    assert.equal(grok(["train", ...TINY, "--steps", "5", "--seed", "5", "--no-report", "--force", "--out", dir]).status, 0);
    assert.deepEqual(readdirSync(root), ["run"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("signals: SIGTERM exits 143; a second Ctrl-C while the files are written is ignored", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-signal-"));
  try {
    for (const [signals, code] of [[["SIGTERM"], 143], [["SIGINT", "SIGINT"], 130]] as const) {
      const dir = join(root, signals.join("-"));
      const child = spawn(process.execPath, [CLI, "train", ...TINY, "--steps", "100000", "--no-report", "--out", dir], { stdio: "ignore" });
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (c, sig) => resolve([c, sig])));
      while (!existsSync(join(dir, "metrics.jsonl"))) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 200));
      for (const s of signals) {
        child.kill(s);
        await new Promise((r) => setTimeout(r, 20));
      }
      const [exit, signal] = await exited;
      assert.ok(existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "summary.json")), "the model and summary are written");
      // A second signal that lands while the process is already exiting (its files written)
      // may end it by that signal: nothing is left to stop.
      assert.ok(exit === code || (signals.length > 1 && signal === "SIGINT"), `${signals.join(", ")}: exit ${exit}, signal ${signal}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
