#!/usr/bin/env node
// `grok`: the command line. Bad input -> one line naming the value and what is allowed,
// exit code 2, and nothing written.

import { join } from "node:path";
import { ConfigError, DEFAULTS, MAX_P, resolveConfig, type RunConfig } from "../core/config.js";
import { encodeCheckpoint } from "../core/io/checkpoint.js";
import { SafetensorsError } from "../core/io/safetensors.js";
import { TaskError, TASKS } from "../core/data/tasks.js";
import { MAX_WORKERS } from "../core/model/fast.js";
import { formatMetrics, runTraining, Trainer, TrainingError, type Summary } from "../core/train.js";
import { Run } from "../core/run.js";
import { parseArgs, UsageError } from "./args.js";
import { LineLog, OutputError, prepareRunDir, writeFileAtomic } from "./files.js";
import { Progress } from "./progress.js";
import { analysisLine, analyzeRun } from "./analyze.js";
import { defaultWorkers, WorkerPool } from "./pool.js";
import { loadEngine } from "./wasm.js";

const HELP = `grok - grokking of modular arithmetic on a WebAssembly SIMD core

Usage:
  grok train [options]        train one model, write runs/<name>/
  grok analyze DIR            Fourier analysis of a run: DIR/analysis.json, DIR/report.html
  grok tasks                  list the built-in tasks
  grok help                   this text

Train options (defaults = the paper's setup):
  --task NAME|EXPR     task name from \`grok tasks\`, or an expression in a and b,
                       e.g. "a^2+a*b+b^2", "(a+b)^3", "a/b" (/ = modular inverse);
                       several, comma-separated, train one model on a mixture:
                       --task add,sub,mul                                  [${DEFAULTS.task}]
  --p N                prime modulus, 3..${MAX_P}                               [${DEFAULTS.p}]
  --frac R             fraction of all pairs used for training, in (0, 1)  [${DEFAULTS.frac}]
  --seed N             seeds the train/test split and the initialisation   [${DEFAULTS.seed}]
  --steps N            full-batch AdamW steps (the most, with --until-grokked) [${DEFAULTS.steps}]
  --eval-every N       evaluate train and test sets every N steps          [${DEFAULTS.eval_every}]
  --until-grokked      stop a little after test accuracy reaches 99%
  --lr, --weight-decay, --beta1, --beta2, --eps           AdamW            [${DEFAULTS.lr}, ${DEFAULTS.weight_decay}, ${DEFAULTS.beta1}, ${DEFAULTS.beta2}, ${DEFAULTS.eps}]
  --d-model, --n-heads, --d-head, --d-mlp                  model sizes      [${DEFAULTS.d_model}, ${DEFAULTS.n_heads}, ${DEFAULTS.d_head}, ${DEFAULTS.d_mlp}]
  --out DIR            run folder                    [runs/<task>_p<p>_r<frac>_s<seed>]
  --path fast|reference  how gradients are computed (same mathematics)     [${DEFAULTS.path}]
  --workers N          threads sharing each step, 1..${MAX_WORKERS} (results do not depend on it) [cores: ${defaultWorkers()}]
  --force              overwrite a run folder that already holds a run
  --no-report          skip the analysis and report at the end
  --quiet              no progress output

Writes DIR/config.json, metrics.jsonl (one line per evaluation), model.safetensors
(PyTorch names and shapes), summary.json, then analysis.json and report.html.
`;

const SWITCHES = new Set(["until_grokked", "force", "quiet", "help", "no_report"]);
const CLI_ONLY = ["out", "force", "quiet", "help", "no_report", "workers"];

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SWITCHES);
  if (args.flags.help || args.command === undefined || args.command === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  switch (args.command) {
    case "tasks":
      printTasks();
      return 0;
    case "train":
      if (args.positional.length > 0) throw new UsageError(`grok train takes no positional arguments, got '${args.positional[0]}'`);
      return train(args.flags);
    case "analyze": {
      if (args.positional.length !== 1 || Object.keys(args.flags).length > 0) throw new UsageError("usage: grok analyze DIR (a folder written by grok train)");
      const { analysis, files } = await analyzeRun(args.positional[0]!);
      process.stdout.write(`${analysisLine(analysis)} -> ${files.join(", ")}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${args.command}' (commands: train, analyze, tasks, help)`);
  }
}

function printTasks(): void {
  const rows = TASKS.map((t) => [t.name, t.formula, t.op, t.group]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  op '${r[2]}'  ${r[3]}\n`);
  process.stdout.write(`\nAny other expression in a and b works too: --task "a^2+a*b+b^2" (integers, + - * / ^, parentheses).\n`);
}

function defaultOut(cfg: RunConfig): string {
  const task = cfg.task.replace(/[^A-Za-z0-9+\-_.]/g, "_");
  return join("runs", `${task}_p${cfg.p}_r${cfg.frac}_s${cfg.seed}`);
}

async function train(flags: Record<string, string | boolean>): Promise<number> {
  const overrides = Object.fromEntries(Object.entries(flags).filter(([k]) => !CLI_ONLY.includes(k)));
  const cfg = resolveConfig(overrides);
  const out = typeof flags.out === "string" ? flags.out : defaultOut(cfg);
  if (flags.out === true || flags.out === "") throw new UsageError("--out needs a folder");
  const workers = flags.workers === undefined ? defaultWorkers() : Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new UsageError(`--workers must be an integer from 1 to ${MAX_WORKERS}, got '${flags.workers}'`);
  // Everything that can reject the input runs before the run folder is touched.
  const pool = workers > 1 ? await WorkerPool.create(workers) : undefined;
  try {
    const run = Run.assemble(pool ? pool.engine : await loadEngine(), cfg, { executor: pool });
    prepareRunDir(out, flags.force === true);
    return await trainInto(out, new Trainer(run), flags, workers);
  } finally {
    await pool?.close();
  }
}

async function trainInto(out: string, trainer: Trainer, flags: Record<string, string | boolean>, workers: number): Promise<number> {
  const cfg = trainer.config;
  const resolved = trainer.run.record();
  writeFileAtomic(join(out, "config.json"), JSON.stringify(resolved, null, 2) + "\n");
  const metrics = new LineLog(join(out, "metrics.jsonl"));
  const progress = new Progress(cfg.steps, process.stderr, flags.quiet === true);
  let interrupted = false;
  const onSignal = (): void => { interrupted = true; };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let lastYield = performance.now();
  let memorized: number | null = null;
  let grokked: number | null = null;

  const summary: Summary = await runTraining(trainer, {
    onStep: (step) => progress.onStep(step),
    onEval: (m, t) => {
      metrics.append(formatMetrics(m));
      progress.onEval(m);
      if (t.memorizedStep !== null && memorized === null) progress.note(`memorized at step ${(memorized = t.memorizedStep)} (train acc ${m.train_acc.toFixed(3)}, test acc ${m.test_acc.toFixed(3)})`);
      t.run.tasks.forEach((task, i) => {
        if (t.run.tasks.length > 1 && t.events[i]!.grokked_step === m.step) progress.note(`${task.name} grokked at step ${m.step} (test acc ${m[`test_acc/${task.name}`]!.toFixed(3)})`);
      });
      if (t.grokkedStep !== null && grokked === null) progress.note(`${t.run.tasks.length > 1 ? "co-grokked" : "grokked"} at step ${(grokked = t.grokkedStep)} (test acc ${m.test_acc.toFixed(3)})`);
    },
    shouldStop: () => interrupted,
    // Let signals through about five times a second.
    pause: () => {
      const now = performance.now();
      if (now - lastYield < 200) return;
      lastYield = now;
      return new Promise((resolve) => setImmediate(resolve));
    },
  });
  progress.done();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);

  writeFileAtomic(join(out, "model.safetensors"), encodeCheckpoint(trainer.run.model, resolved));
  writeFileAtomic(join(out, "summary.json"), JSON.stringify({ ...summary, workers }, null, 2) + "\n");
  process.stdout.write(summaryLine(summary, out, workers) + "\n");
  if (flags.no_report !== true && summary.stopped !== "interrupted") {
    const { analysis } = await analyzeRun(out);
    process.stdout.write(`${analysisLine(analysis)} -> ${join(out, "report.html")}\n`);
  }
  return summary.stopped === "interrupted" ? 130 : 0;
}

function summaryLine(s: Summary, out: string, workers: number): string {
  const mem = s.memorized_step === null ? "never memorized" : `memorized at step ${s.memorized_step}`;
  const each = s.tasks && ` (${Object.entries(s.tasks).map(([name, e]) => `${name} ${e.grokked_step ?? "no"}`).join(", ")})`;
  const grok = (s.grokked_step === null ? `did not ${each ? "co-grok" : "grok"}` : `${each ? "co-grokked" : "grokked"} at step ${s.grokked_step}`) + (each || "");
  const f = s.final;
  return `${s.task} p=${s.p} r=${s.frac} seed=${s.seed}: ${mem}, ${grok}; ${s.steps} steps in ${s.wall_s.toFixed(1)} s ` +
    `(${s.ms_per_step.toFixed(1)} ms/step on ${workers} worker${workers > 1 ? "s" : ""}), final train acc ${f.train_acc.toFixed(3)} test acc ${f.test_acc.toFixed(3)}` +
    `${s.stopped === "interrupted" ? " (interrupted)" : ""} -> ${out}`;
}

const BAD_INPUT = [UsageError, ConfigError, TaskError, OutputError, SafetensorsError];

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    const bad = BAD_INPUT.some((E) => e instanceof E);
    if (bad || e instanceof TrainingError) {
      process.stderr.write(`grok: error: ${(e as Error).message}\n`);
      process.exitCode = bad ? 2 : 1;
    } else {
      throw e;
    }
  },
);
