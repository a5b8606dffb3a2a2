// `grok compare DIR... [--out FILE]`: several runs (or sweep folders) on one page.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS } from "../../core/config.js";
import { varyingKeys } from "../../core/sweep.js";
import type { Summary } from "../../core/train.js";
import type { ComparedRun } from "../../report/compare.js";
import { analyzeFinishedRun } from "../analyze.js";
import { UsageError } from "../args.js";
import { chartRuntime } from "../chart-runtime.js";
import { OutputError, writeFileAtomic } from "../files.js";
import { readMetrics, readRunConfig, readRunFile, readSummary } from "../run-files.js";
import type { Command } from "./command.js";

export const compare: Command = {
  name: "compare",
  summary: "several runs on one page: mean and min..max across seeds, one colour per group",
  switches: [],
  help: () => `Usage: grok compare DIR... [--out compare.html]

Each DIR is a run folder or a sweep folder (its runs). Runs that differ only in their seed
form a group: its mean over seeds is drawn as a line and min..max as a band. A table gives
each run's memorisation and grokking steps, final FFD/FCR and key frequencies (from its
analysis.json, or, for a run without one such as a sweep's, from its final model).
`,
  async run({ positional, flags }) {
    if (positional.length === 0) throw new UsageError("usage: grok compare DIR... [--out FILE] (run or sweep folders)");
    const extra = Object.keys(flags).find((k) => k !== "out");
    if (extra) throw new UsageError(`grok compare takes --out, not --${extra.replace(/_/g, "-")}`);
    const dirs = positional.flatMap((d) => (existsSync(join(d, "config.json")) ? [d] : existsSync(join(d, "runs")) ? runFolders(join(d, "runs")) : missing(d)));
    const runs = groups(await Promise.all(dirs.map(readRun)));
    const out = typeof flags.out === "string" ? flags.out : "compare.html";
    const { renderCompare } = await import("../../report/compare.js");
    writeFileAtomic(out, renderCompare(runs, chartRuntime()));
    process.stdout.write(`${runs.length} runs in ${new Set(runs.map((r) => r.group)).size} groups -> ${out}\n`);
    return 0;
  },
};

function runFolders(dir: string): string[] {
  return readdirSync(dir).sort().map((f) => join(dir, f)).filter((f) => existsSync(join(f, "metrics.jsonl")));
}

function missing(d: string): never {
  throw new OutputError(`${d} is neither a run folder (config.json) nor a sweep folder (runs/)`);
}

type Loaded = Omit<ComparedRun, "group"> & { config: Record<string, unknown> };

async function readRun(dir: string): Promise<Loaded> {
  const { config } = readRunConfig(dir);
  const summary: Summary | undefined = existsSync(join(dir, "summary.json")) ? readSummary(dir) : undefined;
  return { folder: dir, seed: config.seed, metrics: readMetrics(join(dir, "metrics.jsonl")), summary, keys: await keyFrequencies(dir, summary), config: config as unknown as Record<string, unknown> };
}

// Each task's key frequencies: from the run's analysis.json, or else from its final model
// (a sweep's runs have no analysis unless --run-reports); none for a run still training.
async function keyFrequencies(dir: string, summary: Summary | undefined): Promise<number[][] | undefined> {
  if (existsSync(join(dir, "analysis.json"))) {
    try {
      return (JSON.parse(readRunFile(join(dir, "analysis.json"))) as { tasks: { key_frequencies: number[] }[] }).tasks.map((t) => t.key_frequencies);
    } catch {
      return undefined;
    }
  }
  if (!summary || !existsSync(join(dir, "model.safetensors"))) return undefined;
  return (await analyzeFinishedRun(dir)).tasks.map((t) => t.key_frequencies);
}

// Runs that differ only in seed share a group, labelled by the config keys (seed aside) that vary between groups.
function groups(runs: Loaded[]): ComparedRun[] {
  const keys = varyingKeys(runs.map((r) => r.config)).filter((k) => k !== "seed");
  const label = (c: Record<string, unknown>): string => (keys.length ? keys.map((k) => (k === "task" ? String(c[k]) : `${k}=${String(c[k] ?? DEFAULTS[k as keyof typeof DEFAULTS])}`)).join(" ") : String(c.task));
  return runs.map(({ config, ...run }) => ({ ...run, group: label(config) }));
}
