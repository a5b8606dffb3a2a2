// The JSON files of a run folder, read strictly: config.json, summary.json and each line of
// metrics.jsonl against a schema (zod), so a file that parses but is not what grokwasm
// wrote (null, a number, {}, a field of the wrong type, a non-finite number) is refused with
// one line naming the file, the place and what is wrong. Text in, values out: no files here
// (the CLI and the browser lab read the bytes).

import { z } from "zod";
import { DEFAULTS, resolveConfig, type RunConfig } from "../config.js";
import type { Metrics, Summary } from "../train.js";
import { firstIssue } from "./safetensors.js";

export class RunFileError extends Error {}

function parse<T>(schema: z.ZodType<T>, text: string, source: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RunFileError(`${source} is not JSON`);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw new RunFileError(`${source} is not what grokwasm writes: ${firstIssue(r.error)}`);
  return r.data;
}

// Each config key with the type of its default; keys a config.json may lack (written by an
// older grokwasm) take their defaults.
const ConfigRecord = z.looseObject(Object.fromEntries(Object.entries(DEFAULTS).map(([key, value]) => [key, (typeof value === "number" ? z.number() : typeof value === "boolean" ? z.boolean() : z.string()).optional()])));

/** config.json: the run's config, checked like command-line input; `overrides` apply on top. */
export function parseConfigRecord(text: string, source: string, overrides: Record<string, string | boolean> = {}): { config: RunConfig; saved: Record<string, unknown> } {
  const saved = parse(ConfigRecord, text, source) as Record<string, unknown>;
  const recorded = Object.fromEntries(Object.keys(DEFAULTS).filter((k) => saved[k] !== undefined).map((k) => [k, typeof saved[k] === "boolean" ? (saved[k] as boolean) : String(saved[k])]));
  return { config: resolveConfig({ ...recorded, ...overrides }), saved };
}

const finite = z.number().refine(Number.isFinite, "not a finite number");
const step = z.number().int().nonnegative();
const Metric = z.looseObject({
  step, train_loss: finite, test_loss: finite, train_acc: finite, test_acc: finite,
  ffd_E: finite, fcr_E: finite, ffd_L: finite, fcr_L: finite, weight_norm: finite, wall_s: finite,
}).catchall(finite);

/** The lines of metrics.jsonl, each an evaluation; every line must be one. */
export function parseMetrics(text: string, source: string): Metrics[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new RunFileError(`${source} has no evaluations`);
  return lines.map((line, i) => parse(Metric, line, `${source} line ${i + 1}`) as Metrics);
}

const eventStep = step.nullable();
const SummarySchema = z.looseObject({
  task: z.string(), p: step, frac: finite, seed: step,
  memorized_step: eventStep, grokked_step: eventStep,
  tasks: z.record(z.string(), z.looseObject({ memorized_step: eventStep, grokked_step: eventStep })).optional(),
  co_grokked_step: eventStep.optional(),
  steps: step, stopped: z.enum(["steps", "grokked", "interrupted"]), wall_s: finite, ms_per_step: finite,
  final: Metric,
});

export function parseSummary(text: string, source: string): Summary {
  return parse(SummarySchema, text, source) as Summary;
}
