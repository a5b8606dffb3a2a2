// Property-based fuzzing (fast-check, fixed seeds, bounded time): the expression parser, the
// checkpoint reader and the run-folder readers take any input and either accept it or reject
// it with their own one-line error; they never throw anything else and never hang.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { resolveConfig } from "../src/core/config.js";
import { resolveTasks, TaskError } from "../src/core/data/tasks.js";
import { CheckpointError, encodeTrainingState, encodeWeights, loadWeights, readCheckpoint } from "../src/core/io/checkpoint.js";
import { parseConfigRecord, parseMetrics, parseSummary, RunFileError } from "../src/core/io/run-files.js";
import { SafetensorsError } from "../src/core/io/safetensors.js";
import { ConfigError } from "../src/core/config.js";
import { PARAM_NAMES } from "../src/core/model/params.js";
import { Run } from "../src/core/run.js";
import { runTraining, Trainer } from "../src/core/train.js";
import { newEngine } from "./helpers.js";

const SETTINGS = { seed: 20261201, interruptAfterTimeLimit: 12_000, markInterruptAsFailure: false } as const;

/** `fn` returns, or throws one of `allowed` with a one-line message. */
function acceptsOrRejects(fn: () => unknown, allowed: readonly (new (...a: never[]) => Error)[]): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    return allowed.some((E) => e instanceof E) && !(e as Error).message.includes("\n") && (e as Error).message.length > 0;
  }
}

test("the expression parser takes any string: tasks, or a TaskError line", () => {
  const grammar = fc.string({ unit: fc.constantFrom(..."ab0123456789+-*/^() ,=.".split(""), "**", "a2", "((", "))"), maxLength: 400 });
  const anything = fc.string({ unit: "grapheme", maxLength: 200 });
  fc.assert(fc.property(fc.oneof(grammar, anything), (spec) => acceptsOrRejects(() => {
    for (const task of resolveTasks(spec)) for (let a = 0; a < 7; a++) for (let b = 0; b < 7; b++) task.label(a, b, 7);
  }, [TaskError])), { ...SETTINGS, numRuns: 10000 });
});

test("the checkpoint reader takes any mutation of a valid file: a checkpoint, or its one-line error", async () => {
  const config = resolveConfig({ p: "5", d_model: "8", n_heads: "2", d_head: "4", d_mlp: "8", steps: "3" });
  const run = Run.assemble(await newEngine(), config);
  const trainer = new Trainer(run);
  await runTraining(trainer);
  const files = [encodeWeights(run.model, run.record()), encodeTrainingState(run.model, run.record(), trainer.state(), ["final"])];
  const headerEnd = (b: Uint8Array): number => 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("header" as const), at: fc.nat(), value: fc.integer({ min: 32, max: 126 }) }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("grow" as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
    fc.record({ kind: fc.constant("json" as const), key: fc.constantFrom(...PARAM_NAMES, "__metadata__"), value: fc.jsonValue({ maxDepth: 3 }) }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;
  const apply = (base: Uint8Array, m: Mutation): Uint8Array => {
    const b = base.slice();
    if ((m.kind === "header" || m.kind === "json") && (b.length < 8 || headerEnd(b) > b.length || headerEnd(b) <= 8)) return b;
    switch (m.kind) {
      case "flip": b[m.at % b.length] = m.value; return b;
      case "header": b[8 + (m.at % (headerEnd(b) - 8))] = m.value; return b;
      case "cut": return b.subarray(0, m.at % b.length);
      case "grow": { const out = new Uint8Array(b.length + m.bytes.length); out.set(b); out.set(m.bytes, b.length); return out; }
      default: {
        let header: Record<string, unknown>;
        try {
          header = JSON.parse(new TextDecoder().decode(b.subarray(8, headerEnd(b))));
        } catch {
          return b; // an earlier mutation broke the header: nothing to edit
        }
        header[m.key] = m.value;
        const json = new TextEncoder().encode(JSON.stringify(header));
        const out = new Uint8Array(8 + json.length + b.length - headerEnd(b));
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(json, 8);
        out.set(b.subarray(headerEnd(b)), 8 + json.length);
        return out;
      }
    }
  };
  fc.assert(fc.property(fc.constantFrom(...files), fc.array(mutation, { minLength: 1, maxLength: 3 }), (file, mutations) => acceptsOrRejects(() => {
    const ckpt = readCheckpoint(mutations.reduce(apply, file), "mutated");
    loadWeights(run.model, ckpt, PARAM_NAMES, "mutated");
  }, [SafetensorsError, CheckpointError])), { ...SETTINGS, numRuns: 5000 });
});

test("the run-folder readers take any JSON or any mutation of a valid file: values, or their one-line error", () => {
  const config = JSON.stringify({ ...resolveConfig({}), task_formula: "a+b", d_vocab: 102 });
  const line = JSON.stringify({ step: 100, train_loss: 0.1, test_loss: 2, train_acc: 1, test_acc: 0.4, ffd_E: 1, fcr_E: 0.9, ffd_L: 1, fcr_L: 0.9, weight_norm: 30, wall_s: 4 });
  const summary = JSON.stringify({ task: "add", p: 97, frac: 0.3, seed: 0, memorized_step: 200, grokked_step: null, steps: 300, stopped: "steps", wall_s: 9, ms_per_step: 30, final: JSON.parse(line) });
  const mutated = (valid: string) => fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null"),
    fc.tuple(fc.nat(), fc.string({ maxLength: 8 })).map(([at, s]) => valid.slice(0, at % valid.length) + s + valid.slice(at % valid.length)),
    fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([at, v]) => {
      const o = JSON.parse(valid) as Record<string, unknown>;
      const keys = Object.keys(o);
      o[keys[at % keys.length]!] = v;
      return JSON.stringify(o);
    }),
  );
  const allowed = [RunFileError, ConfigError, TaskError];
  fc.assert(fc.property(mutated(config), (text) => acceptsOrRejects(() => parseConfigRecord(text, "config.json"), allowed)), { ...SETTINGS, numRuns: 4000 });
  fc.assert(fc.property(mutated(summary), (text) => acceptsOrRejects(() => parseSummary(text, "summary.json"), allowed)), { ...SETTINGS, numRuns: 4000 });
  fc.assert(fc.property(fc.array(mutated(line), { maxLength: 4 }), (lines) => acceptsOrRejects(() => parseMetrics(lines.join("\n") + "\n", "metrics.jsonl"), allowed)), { ...SETTINGS, numRuns: 4000 });
  assert.equal(parseMetrics(`${line}\n${line}\n`, "metrics.jsonl").length, 2);
});
