// `grok analyze runs/<name>`: reads a run folder, analyses its final model and writes
// analysis.json and report.html (each atomically).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { analyze, measureProgress, type Analysis, type ProgressPoint } from "../core/analysis.js";
import type { RunConfig } from "../core/config.js";
import type { Vocab } from "../core/data/vocab.js";
import { checkCompatible, loadWeights, readCheckpoint } from "../core/io/checkpoint.js";
import { parseMetrics } from "../core/io/run-files.js";
import { PARAM_NAMES } from "../core/model/params.js";
import { Model } from "../core/model/model.js";
import { dimsOf, vocabOf } from "../core/run.js";
import type { ReportInput } from "../report/report.js";
import { OutputError, writeFileAtomic } from "./files.js";
import { chartRuntime } from "./chart-runtime.js";
import { openExistingRunDir } from "./run-dir.js";
import { readProgress, readRunConfig, readRunFile, readRunFileBytes, readSummary } from "./run-files.js";
import { checkpointPath, checkpointSteps, checkSameRun } from "./checkpoints.js";
import { loadEngine } from "./wasm.js";

/** The files of a finished run that the analysis reads. */
const FINISHED_RUN = ["config.json", "metrics.jsonl", "summary.json", "model.safetensors"];

// A finished run's config, model (its final weights loaded and checked) and vocabulary.
async function finishedRun(dir: string): Promise<{ config: RunConfig; saved: Record<string, unknown>; model: Model; vocab: Vocab }> {
  const missing = FINISHED_RUN.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new OutputError(`${dir} is not a finished run folder: missing ${missing.join(", ")} (train one with \`grok train --out ${dir}\`)`);
  const { config, saved } = readRunConfig(dir);
  const vocab = vocabOf(config);
  const model = new Model(await loadEngine(), dimsOf(config, vocab));
  loadChecked(model, join(dir, "model.safetensors"), config, vocab);
  return { config, saved, model, vocab };
}

// Loads a checkpoint's weights into the model, after checking it is this run's.
function loadChecked(model: Model, source: string, config: RunConfig, vocab: Vocab): void {
  const checkpoint = readCheckpoint(readRunFileBytes(source), source);
  checkCompatible(checkpoint, config, vocab, source);
  checkSameRun(checkpoint, config, source);
  loadWeights(model, checkpoint, PARAM_NAMES, source);
}

/** The analysis of a finished run's final model, in memory: nothing is written. */
export async function analyzeFinishedRun(dir: string): Promise<Analysis> {
  const { config, model, vocab } = await finishedRun(dir);
  return analyze(model, config, vocab);
}

export async function analyzeRun(dir: string): Promise<{ analysis: Analysis; files: string[] }> {
  const { config, saved, model, vocab } = await finishedRun(dir);
  const summary = readSummary(dir);
  const metrics = parseMetrics(readRunFile(join(dir, "metrics.jsonl")), join(dir, "metrics.jsonl"));
  const analysis = await analyze(model, config, vocab);
  const formula = typeof saved.task_formula === "string" ? saved.task_formula : undefined;
  const rd = openExistingRunDir(dir);
  try {
    const progress = readProgress(join(dir, "progress.jsonl"));
    return { analysis, files: await writeReport(dir, { config: { ...config, task_formula: formula }, metrics, summary, analysis, progress }) };
  } finally {
    rd.commit();
  }
}

/**
 * The progress measures of every checkpoint of a run, after the fact (DIR/progress.jsonl,
 * replaced). With `finalKeys`, each task's key frequencies are the final model's at every
 * step, as in Nanda et al.'s plots; otherwise each step's own.
 */
export async function progressFromCheckpoints(dir: string, finalKeys: boolean): Promise<{ points: ProgressPoint[]; file: string }> {
  const { config, model, vocab } = await finishedRun(dir);
  const keys = finalKeys ? (await analyze(model, config, vocab)).tasks.map((t) => t.key_frequencies) : undefined;
  const steps = checkpointSteps(dir).reverse();
  if (steps.length === 0) throw new OutputError(`${dir} has no checkpoints to measure (train with --ckpt-every N --keep-ckpts K to keep them)`);
  const points: ProgressPoint[] = [];
  for (const step of steps) {
    loadChecked(model, checkpointPath(dir, step), config, vocab);
    points.push(await measureProgress(model, config, vocab, step, keys));
  }
  const file = join(dir, "progress.jsonl");
  const rd = openExistingRunDir(dir);
  try {
    writeFileAtomic(file, points.map((p) => JSON.stringify(p) + "\n").join(""));
  } finally {
    rd.commit();
  }
  return { points, file };
}

/** Writes DIR/analysis.json and DIR/report.html (each atomically); returns their paths. */
export async function writeReport(dir: string, input: ReportInput): Promise<string[]> {
  const { renderReport } = await import("../report/report.js");
  const html = renderReport(input, chartRuntime());
  const files = [join(dir, "analysis.json"), join(dir, "report.html")];
  writeFileAtomic(files[0]!, JSON.stringify(input.analysis) + "\n");
  writeFileAtomic(files[1]!, html);
  return files;
}

export function analysisLine(a: Analysis): string {
  const f = (x: number): string => x.toFixed(3);
  const mixture = a.tasks.length > 1;
  const perTask = a.tasks.map((t) => `${mixture ? `${t.task}: ` : ""}key frequencies ${t.key_frequencies.join(", ") || "none"}; restricted loss ${t.restricted_loss.toPrecision(3)}`);
  return `FFD/FCR of W_E ${f(a.ffd_E)}/${f(a.fcr_E)}, of W_L ${f(a.ffd_L)}/${f(a.fcr_L)}; ${perTask.join("; ")}`;
}
