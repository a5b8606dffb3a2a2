// Training-state checkpoints: written atomically, read strictly, and resumed exactly: a run
// interrupted by SIGINT or killed by SIGKILL at a random moment and resumed ends
// byte-identical to one that was never stopped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConfig } from "../src/core/config.js";
import { MersenneTwister } from "../src/core/data/rng.js";
import { CheckpointError, encodeTrainingState, readCheckpoint } from "../src/core/io/checkpoint.js";
import { decodeSafetensors, encodeSafetensors, headerLength, SafetensorsError } from "../src/core/io/safetensors.js";
import { Run } from "../src/core/run.js";
import { runTraining, Trainer } from "../src/core/train.js";
import { newEngine } from "./helpers.js";

const CLI = fileURLToPath(new URL("../src/node/cli.js", import.meta.url));
const grok = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

const RUN = ["--p", "11", "--frac", "0.5", "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32",
  "--steps", "2000", "--eval-every", "20", "--ckpt-every", "50", "--no-report", "--quiet"];

// What must match: the weights file, the metrics without wall_s, and the final checkpoint's tensors.
function outcome(dir: string): { model: string; metrics: string; state: string } {
  const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const { wall_s: _, ...rest } = JSON.parse(l) as Record<string, number>;
    return JSON.stringify(rest);
  }).join("\n");
  const steps = readdirSync(join(dir, "checkpoints")).map((f) => Number(/\d+/.exec(f)![0])).sort((a, b) => b - a);
  const { tensors } = decodeSafetensors(readFileSync(join(dir, "checkpoints", `step-${steps[0]}.safetensors`)));
  const state = [...tensors.values()].map((t) => `${t.name}:${Buffer.from(t.data.buffer).toString("base64")}`).join("\n");
  return { model: readFileSync(join(dir, "model.safetensors")).toString("base64"), metrics, state };
}

test("resumed after SIGINT or SIGKILL at random moments, a run ends byte-identical to an uninterrupted one", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-resume-"));
  try {
    const whole = join(root, "whole");
    assert.equal(grok("train", ...RUN, "--workers", "1", "--out", whole).status, 0);
    const want = outcome(whole);
    const rng = new MersenneTwister(2026);
    const trials = [..."IIIIKKKKKKKKKK"].map((k, i) => ({ signal: k === "I" ? "SIGINT" : "SIGKILL", workers: String(1 + (i % 2)), delay: rng.nextU32() % 250 }));
    let killedMidRun = 0;
    for (const [i, t] of trials.entries()) {
      const dir = join(root, `trial-${i}`);
      const child = spawn(process.execPath, [CLI, "train", ...RUN, "--workers", t.workers, "--out", dir], { stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Once the first checkpoint exists, wait the trial's delay, then signal.
      while (!existsSync(join(dir, "checkpoints")) || readdirSync(join(dir, "checkpoints")).every((f) => f.endsWith(".tmp"))) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, t.delay));
      child.kill(t.signal as NodeJS.Signals);
      const code = await exited;
      // Ctrl-C stops the run (130), unless it came as the run was ending (0).
      if (t.signal === "SIGINT") assert.ok(code === 130 || code === 0, `trial ${i}: Ctrl-C exited ${code}`);
      if (!existsSync(join(dir, "summary.json")) || JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).stopped === "interrupted") {
        killedMidRun++;
        const r = grok("train", "--resume", dir, "--workers", t.workers, "--quiet");
        assert.equal(r.status, 0, `trial ${i} (${t.signal} after ${t.delay} ms): ${r.stderr}`);
      }
      const got = outcome(dir);
      for (const key of ["metrics", "model", "state"] as const) assert.equal(got[key], want[key], `trial ${i} (${t.signal} after ${t.delay} ms, ${t.workers} workers): ${key} differ`);
    }
    console.log(`  ${trials.length} trials, ${killedMidRun} stopped mid-run`);
    assert.ok(killedMidRun >= 10, `only ${killedMidRun} trials stopped the run before its end`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("resume: --steps trains a finished run on, as one longer run would; a corrupt newest checkpoint falls back with a warning", () => {
  const root = mkdtempSync(join(tmpdir(), "grok-resume-"));
  try {
    const short = ["--p", "11", "--frac", "0.5", "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32", "--eval-every", "10", "--ckpt-every", "30", "--no-report", "--quiet", "--workers", "1"];
    const long = join(root, "long"), grown = join(root, "grown");
    assert.equal(grok("train", ...short, "--steps", "200", "--out", long).status, 0);
    assert.equal(grok("train", ...short, "--steps", "95", "--out", grown).status, 0);
    assert.match(grok("train", "--resume", grown, "--quiet").stderr, /is at step 95 already \(--steps 95\): pass a larger --steps/);
    assert.match(grok("train", "--resume", grown, "--lr", "1").stderr, /only --steps and --until-grokked may change, not --lr/);
    assert.equal(grok("train", "--resume", grown, "--steps", "200", "--quiet").status, 0);
    assert.deepEqual(outcome(grown), outcome(long));

    // Tear the newest checkpoint and leave a half-written temp file beside it: the resume
    // warns, takes the one before, and still ends where the long run did.
    const torn = join(root, "torn");
    assert.equal(grok("train", ...short, "--steps", "95", "--out", torn).status, 0);
    const newest = join(torn, "checkpoints", "step-95.safetensors");
    const bytes = readFileSync(newest);
    writeFileSync(newest, bytes.subarray(0, bytes.length - 100));
    writeFileSync(`${newest}.4242.tmp`, bytes.subarray(0, 1000));
    const r = grok("train", "--resume", torn, "--steps", "200", "--quiet");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: .*step-95.safetensors is not a valid safetensors file: the tensors need \d+ bytes of data, the file holds \d+ \(truncated\?\); resuming from an older checkpoint/);
    assert.match(r.stderr, /resuming .* at step 90/);
    assert.deepEqual(outcome(torn), outcome(long));
    assert.match(grok("train", "--resume", join(root, "nothing")).stderr, /nothing is not a run folder \(it has no config.json\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// A valid training state of a tiny run, to break in each way the reader must catch.
async function validState(): Promise<{ bytes: Uint8Array; config: ReturnType<typeof resolveConfig> }> {
  const config = resolveConfig({ p: "5", d_model: "8", n_heads: "2", d_head: "4", d_mlp: "8", steps: "3" });
  const run = Run.assemble(await newEngine(), config);
  const trainer = new Trainer(run);
  await trainer.trainStep();
  return { bytes: encodeTrainingState(run.model, run.record(), trainer.state(), ["periodic"]), config };
}

function withHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void, data?: Uint8Array): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = data ?? bytes.subarray(8 + n);
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

test("every malformed checkpoint is rejected with a message naming what is wrong", async () => {
  const { bytes } = await validState();
  assert.equal(readCheckpoint(bytes, "ok").state!.step, 1);
  const W = "blocks.0.attn.W_Q";
  const cases: [string, Uint8Array, RegExp][] = [
    ["header length past the end", (() => { const b = bytes.slice(); new DataView(b.buffer).setBigUint64(0, BigInt(b.length), true); return b; })(), /the header length \d+ exceeds the file/],
    ["header not JSON", (() => { const b = bytes.slice(); b[9] = 0x7b; b[10] = 0x7b; return b; })(), /the header is not UTF-8 JSON/],
    ["header an array", encodeRaw("[1,2]"), /the header is not a JSON object/],
    ["a null entry", withHeader(bytes, (h) => { h[W] = null; }), new RegExp(`tensor '${W}' expected object`)],
    ["shape missing", withHeader(bytes, (h) => { delete h[W].shape; }), new RegExp(`tensor '${W}' at shape: expected array`)],
    ["shape a string", withHeader(bytes, (h) => { h[W].shape = "2,4,8"; }), /at shape: expected array/],
    ["fractional offset", withHeader(bytes, (h) => { h[W].data_offsets[0] += 0.5; }), /at data_offsets.0: expected int/],
    ["negative offset", withHeader(bytes, (h) => { h[W].data_offsets = [-64, 0]; }), /at data_offsets.0: Too small/],
    ["other dtype", withHeader(bytes, (h) => { h[W].dtype = "F16"; }), /dtype F16: only F32 is read/],
    ["offsets that do not fit the shape", withHeader(bytes, (h) => { h[W].shape = [2, 4, 9]; }), /hold 256 bytes, shape \[2,4,9\] needs 288/],
    ["overlapping tensors", withOverlap(bytes), /tensor 'optim.exp_avg_sq.unembed.W_U' overlaps the tensor before it \(its data starts at \d+, before \d+\)/],
    ["a gap", withHeader(bytes, (h) => { delete h["unembed.W_U"]; }), /a gap of 320 bytes before tensor 'optim.exp_avg.embed.W_E'/],
    ["trailing bytes", (() => { const b = new Uint8Array(bytes.length + 4); b.set(bytes); return b; })(), /4 bytes after the last tensor/],
    ["truncated data", bytes.subarray(0, bytes.length - 8), /\(truncated\?\)/],
    ["unknown format tag", withHeader(bytes, (h) => { h.__metadata__.grokwasm = "weights-v9"; }), /unknown grokwasm format tag 'weights-v9'/],
    ["newer format version", withHeader(bytes, (h) => { h.__metadata__.grokwasm_version = "2"; }), /format version 2, this grokwasm reads version 1: written by a newer grokwasm, upgrade/],
    ["malformed state", withHeader(bytes, (h) => { h.__metadata__.step = "-1"; }), /training state is malformed: at step: Too small/],
    ["config not JSON", withHeader(bytes, (h) => { h.__metadata__.config = "{p:5"; }), /its config metadata is not JSON/],
    ["a stray tensor", withStray(bytes), /unexpected tensor extra.bias/],
  ];
  for (const [what, b, message] of cases) {
    assert.throws(() => readCheckpoint(b, "ckpt"), (e: Error) => (e instanceof SafetensorsError || e instanceof CheckpointError) && message.test(e.message) && !e.message.includes("\n"), `${what}: ${message}`);
  }
});

function encodeRaw(json: string): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

// The last tensor moved 4 bytes back into the one before it (and the data 4 bytes shorter).
function withOverlap(bytes: Uint8Array): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return withHeader(bytes, (h) => { h["optim.exp_avg_sq.unembed.W_U"].data_offsets = h["optim.exp_avg_sq.unembed.W_U"].data_offsets.map((o: number) => o - 4); }, bytes.subarray(8 + n, bytes.length - 4));
}

function withStray(bytes: Uint8Array): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  return encodeSafetensors([...tensors.values(), { name: "extra.bias", shape: [1], data: new Float32Array(1) }], metadata);
}

test("the header length is capped: a file cannot make the reader take more than 100 MB of header", () => {
  const first = new Uint8Array(8);
  new DataView(first.buffer).setBigUint64(0, 2n ** 30n, true);
  assert.throws(() => headerLength(first, 2 ** 31, "big"), /big is not a valid safetensors file: the header length 1073741824 exceeds 100000000 bytes/);
});

test("a checkpoint with other shapes, NaN weights, or another p is refused when a run loads or resumes it", async () => {
  const root = mkdtempSync(join(tmpdir(), "grok-ckpt-"));
  try {
    const { bytes } = await validState();
    const nan = (() => { const { tensors, metadata } = decodeSafetensors(bytes); tensors.get("embed.W_E")!.data.fill(NaN); return encodeSafetensors([...tensors.values()], metadata); })();
    const base = ["--d-model", "8", "--n-heads", "2", "--d-head", "4", "--steps", "3", "--no-report", "--quiet", "--workers", "1"];
    writeFileSync(join(root, "state.safetensors"), bytes);
    writeFileSync(join(root, "nan.safetensors"), nan);
    const cases: [string[], RegExp][] = [
      [["--p", "7", "--d-mlp", "8", "--init-from", join(root, "state.safetensors")], /was trained at p=5, this run has p=7/],
      [["--p", "5", "--d-mlp", "16", "--init-from", join(root, "state.safetensors")], /has d_mlp 8, this run 16: train with --d-mlp 8/],
      [["--p", "5", "--d-mlp", "8", "--task", "a^2+b,a^2-b", "--init-from", join(root, "state.safetensors")], /has another vocabulary \(.*\) than this run \(.*"tasks":\{"a2\+b":10,"a2-b":11\}.*\): its tokens mean other things here/],
      [["--p", "5", "--d-mlp", "8", "--init-from", join(root, "nan.safetensors")], /'embed.W_E' holds NaN at entry 0: a diverged or corrupt checkpoint/],
      [["--p", "5", "--init-from", join(root, "model.pth")], /a PyTorch pickle is not read \(it can run code\); convert it to safetensors with:\nimport torch; from safetensors.torch import save_file\nstate = torch.load\("model.pth", map_location="cpu"\)\nsave_file/],
      [["--p", "5", "--init-from", join(root, "none")], /cannot read .*none \(ENOENT\)/],
      [["--p", "5", "--load", "embed"], /--load embed needs --init-from/],
      [["--p", "5", "--freeze", "head"], /--freeze 'head': unknown module 'head' \(modules: embed, attn, mlp, transformer, unembed, all\)/],
    ];
    for (const [args, message] of cases) {
      const r = grok("train", ...base, ...args, "--out", join(root, "out"));
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(join(root, "out")), "nothing written");
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an event seen only at an interruption's extra evaluation is not carried into the resumed run", async () => {
  const config = resolveConfig({ p: "11", frac: "0.5", d_model: "16", n_heads: "2", d_head: "8", d_mlp: "32", lr: "1e-2", steps: "150", eval_every: "50", ckpt_every: "0" });
  const whole = new Trainer(Run.assemble(await newEngine(), config), () => 0);
  const wholeSummary = await runTraining(whole);
  // Stopped at step 70 (off the schedule of every 50), as an interrupted run is: its extra
  // evaluation sees the memorisation (at step 53) that an uninterrupted run sees at step 100.
  const first = new Trainer(Run.assemble(await newEngine(), config), () => 0);
  await first.evaluate();
  for (let i = 0; i < 70; i++) await first.trainStep();
  await first.evaluate();
  assert.equal(first.memorizedStep, 70, "the extra evaluation saw the memorisation");
  const state = encodeTrainingState(first.run.model, first.run.record(), first.state());
  const resumed = Run.assemble(await newEngine(), config, { resume: { checkpoint: readCheckpoint(state, "ckpt"), source: "ckpt" } });
  const summary = await runTraining(new Trainer(resumed, () => 0));
  assert.equal(wholeSummary.memorized_step, 100);
  assert.equal(summary.memorized_step, 100);
  assert.deepEqual(resumed.model.buffer("params").read(), whole.run.model.buffer("params").read());
});
