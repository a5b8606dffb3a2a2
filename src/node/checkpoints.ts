// A run folder's checkpoints: checkpoints/step-<N>.safetensors, each written atomically
// (temp file, fsync, rename), pruned to the newest `keep_ckpts` periodic ones (those at
// memorisation and grokking, and the newest final one, always stay); the newest readable
// one found again to resume from; and the checkpoint a run starts from (--init-from).

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunConfig } from "../core/config.js";
import { CheckpointError, encodeTrainingState, readCheckpoint, type Checkpoint } from "../core/io/checkpoint.js";
import { decodeHeader, headerLength, SafetensorsError } from "../core/io/safetensors.js";
import type { CheckpointSource, Run } from "../core/run.js";
import { recordId } from "../core/sweep.js";
import type { CheckpointReason, Trainer } from "../core/train.js";
import { makeDirs, OutputError, writeFileAtomic } from "./files.js";
import { cutMetrics } from "./run-files.js";

export const CHECKPOINTS = "checkpoints";
const FILE = /^step-(\d+)\.safetensors$/;

export const checkpointPath = (out: string, step: number): string => join(out, CHECKPOINTS, `step-${step}.safetensors`);

/** The steps of the checkpoint files in a run folder, newest first. */
export function checkpointSteps(out: string): number[] {
  const dir = join(out, CHECKPOINTS);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => (FILE.test(f) ? [Number(FILE.exec(f)![1])] : [])).sort((a, b) => b - a);
}

/** Writes the run's training state now, then prunes the periodic checkpoints to `keep_ckpts`. */
export function writeCheckpoint(out: string, run: Run, trainer: Trainer, reasons: readonly CheckpointReason[]): void {
  makeDirs(join(out, CHECKPOINTS));
  writeFileAtomic(checkpointPath(out, trainer.step), encodeTrainingState(run.model, run.record(), trainer.state(), reasons));
  prune(out, run.config.keep_ckpts);
}

// Why each checkpoint was written, from its header alone.
function reasonsOf(path: string): string[] {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const first = new Uint8Array(8);
    readSync(fd, first, 0, 8, 0);
    const head = new Uint8Array(8 + headerLength(first, size, path));
    readSync(fd, head, 0, head.length, 0);
    const meta = decodeHeader(head, size, path).__metadata__ as Record<string, string> | undefined;
    return (meta?.reasons ?? "").split(",").filter(Boolean);
  } catch {
    return ["unreadable"];
  } finally {
    closeSync(fd);
  }
}

function prune(out: string, keep: number): void {
  let periodic = 0, final = 0;
  for (const step of checkpointSteps(out)) {
    const r = reasonsOf(checkpointPath(out, step));
    const kept = r.includes("unreadable") || r.includes("memorized") || r.includes("grokked")
      || (r.includes("final") && final++ === 0)
      || (r.includes("periodic") && periodic++ < keep);
    if (!kept) rmSync(checkpointPath(out, step), { force: true });
  }
}

/** The config keys a resumed run may change: how long it trains. */
export const RESUMABLE = ["steps", "until_grokked"] as const;

export interface ResumePoint extends CheckpointSource {
  step: number;
  /** Newer checkpoints that could not be used, and why. */
  skipped: string[];
}

// The config ids of two records with the keys a resume may change blanked.
const runId = (record: Record<string, unknown>): string => recordId({ ...record, ...Object.fromEntries(RESUMABLE.map((k) => [k, null])) });

/** Refuses a checkpoint recorded with another config than this run's (but for how long it trains). */
export function checkSameRun(checkpoint: Checkpoint, config: RunConfig, source: string): void {
  const theirs = checkpoint.config;
  if (!theirs || runId(theirs) === runId(config as unknown as Record<string, unknown>)) return;
  const differs = Object.keys(config).filter((k) => !(RESUMABLE as readonly string[]).includes(k) && JSON.stringify(theirs[k]) !== JSON.stringify(config[k as keyof RunConfig]));
  throw new CheckpointError(`${source} belongs to another run (${differs.map((k) => `${k} ${JSON.stringify(theirs[k])} there, ${JSON.stringify(config[k as keyof RunConfig])} in config.json`).join("; ")})`);
}

/**
 * The newest checkpoint of a run folder that reads whole and belongs to this run (its
 * config equal to `config` but for how long it trains). A corrupt newer one is skipped with
 * the reason.
 */
export function latestCheckpoint(out: string, config: RunConfig): ResumePoint {
  const skipped: string[] = [];
  for (const step of checkpointSteps(out)) {
    const source = checkpointPath(out, step);
    try {
      const checkpoint = readCheckpoint(readFileSync(source), source);
      if (checkpoint.kind !== "training-state" || !checkpoint.state) throw new CheckpointError(`${source} holds no training state`);
      checkSameRun({ ...checkpoint, config: checkpoint.config ?? {} }, config, source);
      if (checkpoint.state.step !== step) throw new CheckpointError(`${source} says it is at step ${checkpoint.state.step}`);
      return { checkpoint, source, step, skipped };
    } catch (e) {
      if (!(e instanceof SafetensorsError || e instanceof CheckpointError)) throw e;
      skipped.push(e.message);
    }
  }
  const why = skipped.length ? `; the ones there are unusable: ${skipped.join("; ")}` : "";
  throw new OutputError(`${out} has no checkpoint to resume from${why} (train it again with \`grok train --out ${out} --force\`)`);
}

/**
 * Takes a run folder back to its checkpoint at `step`: what came after goes (newer,
 * unusable checkpoints, the end-of-run files, the metrics of later steps).
 */
export function rewindTo(out: string, step: number, config: RunConfig): void {
  for (const s of checkpointSteps(out)) if (s > step) rmSync(checkpointPath(out, s));
  for (const f of ["summary.json", "analysis.json", "report.html", "model.safetensors", "error.json"]) rmSync(join(out, f), { force: true });
  cutMetrics(join(out, "metrics.jsonl"), step, config.eval_every);
  if (existsSync(join(out, "progress.jsonl"))) cutMetrics(join(out, "progress.jsonl"), step, config.measure_every);
}

/** Python that turns a PyTorch state dict (.pth) into the safetensors file grokwasm reads. */
const PTH_TO_SAFETENSORS = `import torch; from safetensors.torch import save_file
state = torch.load("model.pth", map_location="cpu")
save_file({k: v.float().contiguous() for k, v in state.items()}, "model.safetensors")`;

/** The checkpoint --init-from names: a run folder (its model.safetensors) or a .safetensors file. */
export function readInitCheckpoint(path: string): CheckpointSource {
  if (/\.(pth|pt|ckpt|bin)$/i.test(path)) {
    throw new OutputError(`--init-from ${path}: a PyTorch pickle is not read (it can run code); convert it to safetensors with:\n${PTH_TO_SAFETENSORS}`);
  }
  const source = existsSync(path) && statSync(path).isDirectory() ? join(path, "model.safetensors") : path;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(source);
  } catch (e) {
    throw new OutputError(`--init-from ${path}: cannot read ${source} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a finished run folder or a .safetensors file`);
  }
  return { checkpoint: readCheckpoint(bytes, source), source };
}
