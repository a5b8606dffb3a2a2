// Reading what a run folder holds: its recorded config, its metrics log; and cutting the
// log back to a checkpoint's step when the run resumes.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProgressPoint } from "../core/analysis.js";
import type { RunConfig } from "../core/config.js";
import { parseConfigRecord, parseSummary } from "../core/io/run-files.js";
import type { Metrics, Summary } from "../core/train.js";
import { OutputError, writeFileAtomic } from "./files.js";

/** The text of a file of a run folder; an unreadable one (missing, a folder) is bad input naming it. */
export const readRunFile = (path: string): string => readOrExplain(path, () => readFileSync(path, "utf8"));

export const readRunFileBytes = (path: string): Uint8Array => readOrExplain(path, () => readFileSync(path));

function readOrExplain<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OutputError(`cannot read ${path}${code === "EISDIR" ? ": it is a folder" : ` (${code ?? (e as Error).message})`}`);
  }
}

/**
 * The config a run folder was trained with (its config.json, read strictly and checked like
 * command-line input), with `overrides` applied.
 */
export function readRunConfig(dir: string, overrides: Record<string, string | boolean> = {}): { config: RunConfig; saved: Record<string, unknown> } {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new OutputError(`${dir} is not a run folder (it has no config.json): give the folder a run was trained into`);
  return parseConfigRecord(readRunFile(path), path, overrides);
}

export function readSummary(dir: string): Summary {
  const path = join(dir, "summary.json");
  return parseSummary(readRunFile(path), path);
}

/**
 * The evaluations in a metrics.jsonl, in order, up to the first line that is not a whole
 * JSON object with a step (a line torn by a crash ends the log).
 */
export function readMetrics(path: string): Metrics[] {
  const out: Metrics[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const m = JSON.parse(line) as Metrics;
      if (typeof m !== "object" || m === null || !Number.isInteger(m.step)) break;
      out.push(m);
    } catch {
      break;
    }
  }
  return out;
}

/** The progress measures of progress.jsonl (lines as readMetrics reads them), or none. */
export function readProgress(path: string): ProgressPoint[] {
  return existsSync(path) ? (readMetrics(path) as unknown as ProgressPoint[]) : [];
}

/**
 * Cuts metrics.jsonl back to what an uninterrupted run has at `step`: the evaluations of
 * steps up to it that fall on the schedule (an interrupted run's extra last line goes).
 */
export function cutMetrics(path: string, step: number, evalEvery: number): void {
  const kept = readMetrics(path).filter((m) => m.step <= step && m.step % evalEvery === 0);
  writeFileAtomic(path, kept.map((m) => JSON.stringify(m) + "\n").join(""));
}
