// A run trained into its folder: config.json first, metrics.jsonl a whole line per
// evaluation, then model.safetensors and summary.json, and unless told not to,
// analysis.json and report.html. Shared by `grok train` and the sweep workers.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { analyze, type Analysis, type ProgressPoint } from "../core/analysis.js";
import { encodeWeights } from "../core/io/checkpoint.js";
import type { Run } from "../core/run.js";
import { formatMetrics, runTraining, Trainer, type Metrics, type RunHooks, type Summary } from "../core/train.js";
import { writeReport } from "./analyze.js";
import { writeCheckpoint } from "./checkpoints.js";
import { LineLog, writeFileAtomic } from "./files.js";
import { readMetrics, readProgress } from "./run-files.js";

export interface FolderOptions {
  /** Threads that shared each step (recorded in summary.json). */
  workers: number;
  /** The run continues from a checkpoint: metrics.jsonl (already cut back to it) grows on. */
  resumed?: boolean;
  /** Write analysis.json and report.html at the end (not after an interrupted run). */
  report: boolean;
  hooks?: RunHooks;
}

export interface FolderResult {
  summary: Summary;
  analysis?: Analysis;
}

export async function trainIntoFolder(out: string, run: Run, { workers, resumed = false, report, hooks = {} }: FolderOptions): Promise<FolderResult> {
  const record = run.record();
  writeFileAtomic(join(out, "config.json"), JSON.stringify(record, null, 2) + "\n");
  const log = new LineLog(join(out, "metrics.jsonl"), resumed);
  const keepProgress = resumed && existsSync(join(out, "progress.jsonl"));
  const progress = new LineLog(join(out, "progress.jsonl"), keepProgress);
  const points: ProgressPoint[] = keepProgress ? readProgress(join(out, "progress.jsonl")) : [];
  const metrics: Metrics[] = resumed ? readMetrics(join(out, "metrics.jsonl")) : [];
  const summary = await runTraining(new Trainer(run), {
    ...hooks,
    onEval: (m, trainer) => {
      log.append(formatMetrics(m));
      metrics.push(m);
      hooks.onEval?.(m, trainer);
    },
    onProgress: (point, trainer) => {
      progress.append(JSON.stringify(point) + "\n");
      points.push(point);
      hooks.onProgress?.(point, trainer);
    },
    checkpoint: async (reasons, trainer) => {
      writeCheckpoint(out, run, trainer, reasons);
      await hooks.checkpoint?.(reasons, trainer);
    },
  });
  writeFileAtomic(join(out, "model.safetensors"), encodeWeights(run.model, record));
  writeFileAtomic(join(out, "summary.json"), JSON.stringify({ ...summary, workers }, null, 2) + "\n");
  if (!report || summary.stopped === "interrupted") return { summary };
  const analysis = await analyze(run.model, run.config, run.vocab);
  await writeReport(out, { config: record, metrics, summary, analysis, progress: points });
  return { summary, analysis };
}

/** A `pause` hook that yields to the event loop (signals, messages) at most every `ms`. */
export function yieldEvery(ms: number): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < ms) return undefined;
    last = now;
    return new Promise((resolve) => setImmediate(resolve));
  };
}

/**
 * Records why a run failed in its folder (error.json: the message and the config) and
 * returns the message. Errors of bad input and diverged training are one line already.
 */
export function recordFailure(out: string, config: object, e: unknown, id?: string): string {
  const error = e instanceof Error ? e.message : String(e);
  const kind = e instanceof Error ? e.constructor.name : typeof e;
  writeFileAtomic(join(out, "error.json"), JSON.stringify({ error, kind, ...(id ? { id } : {}), config }, null, 2) + "\n");
  return error;
}
