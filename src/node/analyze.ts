// `grok analyze runs/<name>`: reads a run folder, analyses its final model and writes
// analysis.json and report.html (each atomically).

import { existsSync } from "node:fs";
import { join } from "node:path";
import { analyze, type Analysis } from "../core/analysis.js";
import { checkCompatible, loadWeights, readCheckpoint } from "../core/io/checkpoint.js";
import { parseMetrics } from "../core/io/run-files.js";
import { PARAM_NAMES } from "../core/model/params.js";
import { Model } from "../core/model/model.js";
import { dimsOf, vocabOf } from "../core/run.js";
import type { ReportInput } from "../report/report.js";
import { OutputError, writeFileAtomic } from "./files.js";
import { openExistingRunDir } from "./run-dir.js";
import { readRunConfig, readRunFile, readRunFileBytes, readSummary } from "./run-files.js";
import { checkSameRun } from "./checkpoints.js";
import { loadEngine } from "./wasm.js";

/** The files of a finished run that the analysis reads. */
const FINISHED_RUN = ["config.json", "metrics.jsonl", "summary.json", "model.safetensors"];

export async function analyzeRun(dir: string): Promise<{ analysis: Analysis; files: string[] }> {
  const missing = FINISHED_RUN.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new OutputError(`${dir} is not a finished run folder: missing ${missing.join(", ")} (train one with \`grok train --out ${dir}\`)`);
  const { config, saved } = readRunConfig(dir);
  const summary = readSummary(dir);
  const metrics = parseMetrics(readRunFile(join(dir, "metrics.jsonl")), join(dir, "metrics.jsonl"));
  const vocab = vocabOf(config);
  const model = new Model(await loadEngine(), dimsOf(config, vocab));
  const source = join(dir, "model.safetensors");
  const checkpoint = readCheckpoint(readRunFileBytes(source), source);
  checkCompatible(checkpoint, config, vocab, source);
  checkSameRun(checkpoint, config, source);
  loadWeights(model, checkpoint, PARAM_NAMES, source);
  const analysis = await analyze(model, config, vocab);
  const formula = typeof saved.task_formula === "string" ? saved.task_formula : undefined;
  const rd = openExistingRunDir(dir);
  try {
    return { analysis, files: await writeReport(dir, { config: { ...config, task_formula: formula }, metrics, summary, analysis }) };
  } finally {
    rd.commit();
  }
}

/** Writes DIR/analysis.json and DIR/report.html (each atomically); returns their paths. */
export async function writeReport(dir: string, input: ReportInput): Promise<string[]> {
  // vega is large: loaded only when a report is drawn, so every other command starts fast.
  const { renderReport } = await import("../report/report.js");
  const html = await renderReport(input);
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
