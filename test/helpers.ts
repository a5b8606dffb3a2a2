// Shared test helpers: the golden fixtures (test/fixtures, copied from the PyTorch
// reference; see its README) and tolerance checks that print the worst error.

import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { Engine } from "../src/core/wasm/engine.js";
import { Model, type Path } from "../src/core/model/model.js";
import { FastPath } from "../src/core/model/fast.js";
import { ReferencePath } from "../src/core/model/reference.js";
import { PARAM_NAMES } from "../src/core/model/params.js";
import type { Split } from "../src/core/data/data.js";
import { readWasm, type Build } from "../src/node/wasm.js";

// dist/test/helpers.js -> <package>/test/fixtures
const FIXTURES = new URL("../../test/fixtures/", import.meta.url);

export type FixtureName = "tiny" | "full" | "mixture";

/** The mixture fixture's tasks: its file names, and ours. */
export const MIXTURE_TASKS = [["add", "add"], ["subtract", "sub"], ["multiply", "mul"]] as const;

export interface FixtureConfig {
  p: number;
  d_vocab: number;
  d_model: number;
  n_heads: number;
  d_head: number;
  d_mlp: number;
  frac: number;
  seed: number;
  n_train: number;
  logits_rows: number;
  loss: number;
  losses_adamw: number[];
  hyperparameters: { lr: number; weight_decay: number; betas: [number, number]; eps: number };
}

export function fixtureBytes(name: FixtureName, file: string): Uint8Array {
  return readFileSync(new URL(`${name}/${file}`, FIXTURES));
}

const aligned = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export const fixtureF32 = (name: FixtureName, file: string): Float32Array => new Float32Array(aligned(fixtureBytes(name, file)));
export const fixtureF64 = (name: FixtureName, file: string): Float64Array => new Float64Array(aligned(fixtureBytes(name, file)));
export const fixtureI32 = (name: FixtureName, file: string): Int32Array => new Int32Array(aligned(fixtureBytes(name, file)));

export function fixtureConfig(name: FixtureName): FixtureConfig {
  return JSON.parse(new TextDecoder().decode(fixtureBytes(name, "config.json"))) as FixtureConfig;
}

/** A fixture's train or test split; the mixture's is its tasks' files in turn (task-major segments). */
export function fixtureSplit(name: FixtureName, which: "train" | "test"): Split {
  const files = name === "mixture" ? MIXTURE_TASKS.map(([file, task]) => [`_${file}`, task] as const) : [["", "add"] as const];
  const parts = files.map(([suffix, task]) => ({ task, tokens: fixtureI32(name, `${which}_tokens${suffix}.bin`), labels: fixtureI32(name, `${which}_labels${suffix}.bin`) }));
  let start = 0;
  const segments = parts.map(({ task, labels }) => ({ task, start: (start += labels.length) - labels.length, n: labels.length }));
  const concat = (arrays: Int32Array[]): Int32Array => {
    const out = new Int32Array(arrays.reduce((s, a) => s + a.length, 0));
    arrays.reduce((at, a) => (out.set(a, at), at + a.length), 0);
    return out;
  };
  return { n: start, tokens: concat(parts.map((x) => x.tokens)), labels: concat(parts.map((x) => x.labels)), segments };
}

/** A fresh engine (with its own memory) on build/<build>.wasm. */
export function newEngine(build: Build = "release"): Promise<Engine> {
  return Engine.create(readWasm(build));
}

/** Every way of computing loss and gradients: one shared suite runs against each. */
export const PATHS: Record<string, (m: Model) => Path> = {
  reference: (m) => new ReferencePath(m),
  fast: (m) => new FastPath(m),
};

/** A model with the fixture's dims and initial weights. */
export async function fixtureModel(name: FixtureName, build: Build = "release"): Promise<Model> {
  const c = fixtureConfig(name);
  const model = new Model(await newEngine(build), c);
  for (const p of PARAM_NAMES) model.setTensor(p, fixtureF32(name, `weights/${p}.bin`));
  return model;
}

/** max |got - want|, and that divided by max |want|. */
export function maxError(got: ArrayLike<number>, want: ArrayLike<number>): { abs: number; rel: number } {
  assert.equal(got.length, want.length, "length mismatch");
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    abs = Math.max(abs, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return { abs, rel: scale > 0 ? abs / scale : abs };
}

/** Asserts max |got - want| <= tol * max |want| and logs the error (llm.c style). */
export function assertCloseToMax(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  const { abs, rel } = maxError(got, want);
  console.log(`  ${label.padEnd(28)} max abs err ${abs.toExponential(2)}  rel to max ${rel.toExponential(2)}  (tol ${tol})`);
  assert.ok(rel <= tol, `${label}: max error ${rel.toExponential(3)} of max |want| exceeds ${tol}`);
}

/** Asserts |got - want| <= atol + rtol * |want| elementwise. */
export function assertAllClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 0): void {
  assert.equal(got.length, want.length, `${label}: length ${got.length} != ${want.length}`);
  const { abs } = maxError(got, want);
  console.log(`  ${label.padEnd(28)} max abs err ${abs.toExponential(2)}  (atol ${atol}, rtol ${rtol})`);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i]! - want[i]!) <= atol + rtol * Math.abs(want[i]!);
    assert.ok(ok, `${label}: entry ${i} is ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`);
  }
}
