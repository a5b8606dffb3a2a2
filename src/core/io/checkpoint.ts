// Checkpoints as safetensors under the PyTorch names (Python's safetensors.torch.load_file
// reads them): a model's weights (model.safetensors), or a run's whole training state
// (checkpoints/step-<N>.safetensors: the weights, AdamW's moments under
// optim.exp_avg.<name> and optim.exp_avg_sq.<name>, and in __metadata__ the step, the
// memorisation and grokking events so far, the resolved config and its vocabulary, a format
// tag and a version). Bytes in, bytes out; reading validates everything before anything
// is used.

import { z } from "zod";
import type { RunConfig } from "../config.js";
import type { Vocab } from "../data/vocab.js";
import type { BufferName, Model } from "../model/model.js";
import { PARAM_NAMES, type ParamName } from "../model/params.js";
import type { Events } from "../train.js";
import { decodeSafetensors, encodeSafetensors, firstIssue, type NamedTensor } from "./safetensors.js";

/** The `grokwasm` metadata tag: what the file holds. */
export type CheckpointKind = "weights" | "training-state";
/** Bumped when the layout of a checkpoint changes; a reader refuses versions it does not know. */
export const FORMAT_VERSION = 1;
/** The tag of model.safetensors files written before the tag said what they hold. */
const LEGACY_WEIGHTS_TAG = "grokwasm-1";

/** What a training-state checkpoint carries besides its tensors. */
export interface TrainingState {
  step: number;
  /** Each task's memorisation and grokking steps so far. */
  events: Events[];
  /** Time spent in training steps, and since the run began (seconds), up to this step. */
  train_ms: number;
  wall_s: number;
}

export interface Checkpoint {
  /** "foreign": written elsewhere (e.g. by PyTorch): weights, with no grokwasm tag. */
  kind: CheckpointKind | "foreign";
  tensors: Map<string, NamedTensor>;
  /** The config recorded with it (config.json's content), if any. */
  config?: Record<string, unknown>;
  state?: TrainingState;
}

export class CheckpointError extends Error {}

const MOMENTS: readonly [BufferName, string][] = [["m", "optim.exp_avg."], ["v", "optim.exp_avg_sq."]];

function tensorsOf(model: Model, prefix: string, buffer: BufferName): NamedTensor[] {
  return model.layout.entries.map((e) => ({ name: prefix + e.name, shape: [...e.shape], data: model.tensor(e.name, buffer) }));
}

function metadata(kind: CheckpointKind, record: object): Record<string, string> {
  return { format: "pt", grokwasm: kind, grokwasm_version: String(FORMAT_VERSION), config: JSON.stringify(record) };
}

/** model.safetensors: the weights, with the run's record (config and vocabulary). */
export function encodeWeights(model: Model, record: object): Uint8Array {
  return encodeSafetensors(tensorsOf(model, "", "params"), metadata("weights", record));
}

/**
 * A training-state checkpoint: weights, AdamW moments, step and events; `reasons` say why it
 * was written (periodic, memorized, grokked, final), which decides how long it is kept.
 */
export function encodeTrainingState(model: Model, record: object, state: TrainingState, reasons: readonly string[] = []): Uint8Array {
  const tensors = [...tensorsOf(model, "", "params"), ...MOMENTS.flatMap(([buffer, prefix]) => tensorsOf(model, prefix, buffer))];
  return encodeSafetensors(tensors, {
    ...metadata("training-state", record),
    reasons: reasons.join(","),
    step: String(state.step),
    events: JSON.stringify(state.events),
    train_ms: String(state.train_ms),
    wall_s: String(state.wall_s),
  });
}

const Step = z.number().int().nonnegative().nullable();
const StateSchema = z.strictObject({
  step: z.number().int().nonnegative(),
  events: z.array(z.strictObject({ memorized_step: Step, grokked_step: Step })).min(1),
  train_ms: z.number().nonnegative(),
  wall_s: z.number().nonnegative(),
});

function parseJson(text: string | undefined, what: string, fail: (why: string) => never): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return fail(`its ${what} metadata is not JSON`);
  }
}

/**
 * Reads a checkpoint: the safetensors container (strictly), the format tag and version, the
 * recorded config, the training state, and the tensor names (no stray ones).
 */
export function readCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const { tensors, metadata: meta } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => {
    throw new CheckpointError(`${source}: ${why}`);
  };
  const tag = meta.grokwasm;
  let kind: Checkpoint["kind"];
  if (tag === undefined) kind = "foreign";
  else if (tag === LEGACY_WEIGHTS_TAG) kind = "weights";
  else if (tag === "weights" || tag === "training-state") {
    kind = tag;
    if (meta.grokwasm_version !== String(FORMAT_VERSION)) {
      fail(`format version ${meta.grokwasm_version ?? "(none)"}, this grokwasm reads version ${FORMAT_VERSION}${Number(meta.grokwasm_version) > FORMAT_VERSION ? ": written by a newer grokwasm, upgrade to read it" : ""}`);
    }
  } else return fail(`unknown grokwasm format tag '${tag}' (expected weights or training-state)`);
  const config = parseJson(meta.config, "config", fail);
  if (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config))) fail("its config metadata is not a JSON object");
  let state: TrainingState | undefined;
  if (kind === "training-state") {
    const parsed = StateSchema.safeParse({
      step: Number(meta.step), events: parseJson(meta.events, "events", fail), train_ms: Number(meta.train_ms), wall_s: Number(meta.wall_s),
    });
    if (!parsed.success) fail(`its training state is malformed: ${firstIssue(parsed.error)}`);
    state = parsed.data;
  }
  const allowed = new Set<string>(kind === "training-state" ? [...PARAM_NAMES, ...MOMENTS.flatMap(([, prefix]) => PARAM_NAMES.map((n) => prefix + n))] : PARAM_NAMES);
  const stray = [...tensors.keys()].filter((n) => !allowed.has(n));
  if (stray.length > 0) fail(`unexpected tensor${stray.length > 1 ? "s" : ""} ${stray.slice(0, 3).join(", ")}${stray.length > 3 ? ", ..." : ""} (a ${kind === "training-state" ? "training state" : "weights file"} holds ${kind === "training-state" ? "the weights and their AdamW moments" : "the 8 weight tensors"} only)`);
  return { kind, tensors, config: config as Record<string, unknown> | undefined, state };
}

const SIZES = ["d_model", "n_heads", "d_head", "d_mlp"] as const;

/**
 * Refuses a checkpoint whose model cannot be this run's: another p, other model sizes or
 * another vocabulary (as far as the checkpoint records them).
 */
export function checkCompatible(ckpt: Checkpoint, config: RunConfig, vocab: Vocab, source: string): void {
  const c = ckpt.config;
  if (!c) return;
  if (c.p !== undefined && c.p !== config.p) throw new CheckpointError(`${source} was trained at p=${String(c.p)}, this run has p=${config.p}: use a checkpoint trained at p=${config.p}, or train at its p`);
  for (const key of SIZES) {
    if (c[key] !== undefined && c[key] !== config[key]) throw new CheckpointError(`${source} has ${key} ${String(c[key])}, this run ${config[key]}: train with --${key.replace("_", "-")} ${String(c[key])} (the checkpoint's model sizes)`);
  }
  if (c.vocab !== undefined && JSON.stringify(c.vocab) !== JSON.stringify(vocab.toRecord())) {
    throw new CheckpointError(`${source} has another vocabulary (${JSON.stringify(c.vocab)}) than this run (${JSON.stringify(vocab.toRecord())}): its tokens mean other things here`);
  }
}

// Copies tensors `names` (under `prefix`) into a buffer of the model: each must be present,
// of the model's shape and finite.
function copyTensors(model: Model, ckpt: Checkpoint, names: readonly ParamName[], prefix: string, buffer: BufferName, source: string): void {
  for (const name of names) {
    const t = ckpt.tensors.get(prefix + name);
    const e = model.layout.entries.find((x) => x.name === name)!;
    if (!t) throw new CheckpointError(`${source} has no tensor '${prefix + name}' (it has ${[...ckpt.tensors.keys()].join(", ")})`);
    if (t.shape.join(",") !== e.shape.join(",")) {
      throw new CheckpointError(`${source}: '${prefix + name}' has shape [${t.shape}], this model needs [${e.shape}]: train with the checkpoint's p and model sizes (see its config)`);
    }
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new CheckpointError(`${source}: '${prefix + name}' holds ${t.data[bad]} at entry ${bad}: a diverged or corrupt checkpoint`);
    model.buffer(buffer, name).write(t.data, name);
  }
}

/** Copies the weights `names` of a checkpoint into the model. */
export function loadWeights(model: Model, ckpt: Checkpoint, names: readonly ParamName[], source: string): void {
  copyTensors(model, ckpt, names, "", "params", source);
}

/** Restores a training state: weights and AdamW moments; returns the step and events. */
export function restoreTrainingState(model: Model, ckpt: Checkpoint, source: string): TrainingState {
  if (ckpt.kind !== "training-state" || !ckpt.state) throw new CheckpointError(`${source} holds weights only, not a training state (checkpoints/step-<N>.safetensors do)`);
  copyTensors(model, ckpt, PARAM_NAMES, "", "params", source);
  for (const [buffer, prefix] of MOMENTS) copyTensors(model, ckpt, PARAM_NAMES, prefix, buffer, source);
  return ckpt.state;
}
