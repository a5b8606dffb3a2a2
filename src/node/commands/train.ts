// `grok train`: one model, trained into a run folder.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS, MAX_P, PRESETS, resolveConfig, type RunConfig } from "../../core/config.js";
import { MAX_WORKERS } from "../../core/model/fast.js";
import { formatBytes, Run } from "../../core/run.js";
import { runFolderName } from "../../core/sweep.js";
import { Trainer, type Summary } from "../../core/train.js";
import { checkFlags, parseCount, UsageError, withConfigFile } from "../args.js";
import { analysisLine } from "../analyze.js";
import { latestCheckpoint, readInitCheckpoint, RESUMABLE, rewindTo } from "../checkpoints.js";
import { openExistingRunDir, openRunDir, type RunDir } from "../run-dir.js";
import { readRunConfig, readSummary } from "../run-files.js";
import { createWorkerPool, defaultWorkers } from "../pool.js";
import { Progress } from "../progress.js";
import { trainIntoFolder, yieldEvery } from "../run-folder.js";
import { memoryLimit } from "../memory.js";
import { loadEngine } from "../wasm.js";
import type { Command } from "./command.js";

/** The config keys as options (`grok train`, and axes of `grok sweep`). */
export const CONFIG_OPTIONS = `  --preset NAME        ${Object.keys(PRESETS).join(" or ")}: the paper's setup, or one for p <= 31 that groks
                       in a few hundred steps (keys given after it override it)  [${DEFAULTS.preset}]
  --config FILE.json   config keys from a file (the command line overrides it)
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
  --path fast|reference  how gradients are computed (same mathematics)     [${DEFAULTS.path}]
  --measure-every N    progress measures into progress.jsonl every N steps (0: none) [${DEFAULTS.measure_every}]
`;

const OPTIONS = ["out", "force", "quiet", "no_report", "workers", "resume", "max_memory"];
/** What `--resume DIR` takes beside: how long to train on, and how to run. */
const RESUME_OPTIONS = ["resume", "steps", "until_grokked", "workers", "quiet", "no_report", "max_memory"];

export const train: Command = {
  name: "train",
  summary: "train one model, write runs/<name>/",
  switches: ["until_grokked", "force", "quiet", "no_report"],
  help: () => `Usage: grok train [options]

Options (defaults = the paper's setup):
${CONFIG_OPTIONS}  --init-from DIR|FILE  start from a run folder's model (or a .safetensors file): its --load
                       modules (default all) replace the fresh initialisation's
  --load MODULES       embed, attn, mlp, transformer (attn+mlp), unembed, all    [${DEFAULTS.load}]
  --freeze MODULES     modules that take no update and no weight decay, e.g. embed
  --ckpt-every N       a training-state checkpoint every N steps (0: events and end only) [${DEFAULTS.ckpt_every}]
  --keep-ckpts K       periodic checkpoints kept (memorisation, grokking, end: always) [${DEFAULTS.keep_ckpts}]
  --out DIR            run folder                    [runs/<task>_p<p>_r<frac>_s<seed>]
  --resume DIR         continue a run from its newest checkpoint (with --steps N to train
                       longer); the result is what an uninterrupted run gives
  --workers N          threads sharing each step, 1..${MAX_WORKERS} (results do not depend on it) [cores: ${defaultWorkers()}]
  --force              overwrite a run folder that already holds a run
  --no-report          skip the analysis and report at the end
  --quiet              no progress output
  --max-memory SIZE    refuse a run that needs more memory (e.g. 2G) [80% of RAM, at most 4 GiB]

Writes DIR/config.json, metrics.jsonl (one line per evaluation), checkpoints/step-<N>.safetensors
(weights, AdamW moments, step), model.safetensors (PyTorch names and shapes), summary.json,
then analysis.json and report.html. Ctrl-C or SIGTERM writes a checkpoint and stops (exit
130 or 143); \`grok train --resume DIR\` goes on from it.
`,
  async run(args) {
    if (args.positional.length > 0) throw new UsageError(`grok train takes no positional arguments, got '${args.positional[0]}'`);
    const flags = withConfigFile(args.flags, (path) => readFileSync(path, "utf8"));
    checkFlags("train", flags, OPTIONS, Object.keys(DEFAULTS));
    const workers = parseCount("workers", flags.workers, 1, MAX_WORKERS, defaultWorkers());
    if (flags.resume !== undefined) return resume(flags, workers);
    const cfg = resolveConfig(Object.fromEntries(Object.entries(flags).filter(([k]) => !OPTIONS.includes(k))));
    if (flags.out === true || flags.out === "") throw new UsageError("--out needs a folder");
    const out = typeof flags.out === "string" ? flags.out : defaultOut(cfg);
    const weights = cfg.init_from === "" ? undefined : readInitCheckpoint(cfg.init_from);
    // Everything that can reject the input runs before the run folder is touched.
    const pool = workers > 1 ? await createWorkerPool(workers) : undefined;
    try {
      const run = Run.assemble(pool ? pool.engine : await loadEngine(), cfg, { executor: pool, weights, memoryLimit: { ...memoryLimit(flags.max_memory), analysis: flags.no_report !== true } });
      warnIfLarge(run);
      return await trainInto(openRunDir(out, flags.force === true ? "replace" : "new"), run, flags, workers, false);
    } finally {
      await pool?.close();
    }
  },
};

// `grok train --resume DIR`: the run's own config (how long it trains may change), its
// newest readable checkpoint, its metrics cut back to that step, and on.
async function resume(flags: Record<string, string | boolean>, workers: number): Promise<number> {
  const dir = flags.resume;
  if (typeof dir !== "string" || dir === "") throw new UsageError("--resume needs a run folder");
  const extra = Object.keys(flags).filter((k) => !RESUME_OPTIONS.includes(k));
  if (extra.length > 0) throw new UsageError(`--resume goes on with the run's own config: only ${RESUMABLE.map((k) => "--" + k.replace("_", "-")).join(" and ")} may change, not --${extra[0]!.replace(/_/g, "-")}`);
  const { config } = readRunConfig(dir, Object.fromEntries(RESUMABLE.filter((k) => k in flags).map((k) => [k, flags[k]!])));
  const rd = openExistingRunDir(dir);
  const pool = workers > 1 ? await createWorkerPool(workers).catch((e) => { rd.abandon(); throw e; }) : undefined;
  try {
    const point = latestCheckpoint(dir, config);
    for (const why of point.skipped) process.stderr.write(`grok: warning: ${why}; resuming from an older checkpoint\n`);
    const run = Run.assemble(pool ? pool.engine : await loadEngine(), config, { executor: pool, resume: point, memoryLimit: { ...memoryLimit(flags.max_memory), analysis: flags.no_report !== true } });
    warnIfLarge(run);
    // A run that ended (and wrote its summary) has nothing to resume; one killed while
    // writing its last files goes on to write them.
    const ended = new Trainer(run).stopReason();
    const summary = existsSync(join(dir, "summary.json")) ? readSummary(dir) : undefined;
    if (ended && summary && summary.stopped !== "interrupted") {
      throw new UsageError(ended === "steps" ? `${dir} is at step ${point.step} already (--steps ${config.steps}): pass a larger --steps to train on` : `${dir} already grokked and ended at step ${point.step}: pass --until-grokked=false and a larger --steps to train on`);
    }
    rewindTo(dir, point.step, config);
    process.stderr.write(`resuming ${dir} at step ${point.step}\n`);
    return await trainInto(rd, run, flags, workers, true);
  } catch (e) {
    rd.abandon();
    throw e;
  } finally {
    await pool?.close();
  }
}

function warnIfLarge(run: Run): void {
  if (run.memoryBytes > 2 ** 30) process.stderr.write(`grok: warning: this run lays out about ${formatBytes(run.memoryBytes)} of memory; each step will be slow\n`);
}

function defaultOut(cfg: RunConfig): string {
  return join("runs", runFolderName(cfg));
}

// Trains into the run folder, then hands it over (swapped in, when it replaced a run) and
// prints the outcome. A failure abandons it: a replaced run stays as it was.
async function trainInto(rd: RunDir, run: Run, flags: Record<string, string | boolean>, workers: number, resumed: boolean): Promise<number> {
  const out = rd.dir;
  const progress = new Progress(run.config, run.resumed?.step ?? 0, process.stderr, flags.quiet === true);
  // A signal stops the run after its step: it writes a checkpoint and its files, then exits
  // 128 + the signal's number. Later signals are ignored until the files are written.
  let interrupted: "SIGINT" | "SIGTERM" | undefined;
  const onSignal = (signal: "SIGINT" | "SIGTERM"): void => { interrupted ??= signal; };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let memorized: number | null = null;
  let grokked: number | null = null;
  const mixture = run.tasks.length > 1;
  const { summary, analysis } = await trainIntoFolder(rd.path, run, {
    workers,
    resumed,
    report: flags.no_report !== true,
    hooks: {
      onStep: (step) => progress.onStep(step),
      onEval: (m, t) => {
        progress.onEval(m);
        if (t.memorizedStep !== null && memorized === null) progress.note(`memorized at step ${(memorized = t.memorizedStep)} (train acc ${m.train_acc.toFixed(3)}, test acc ${m.test_acc.toFixed(3)})`);
        run.tasks.forEach((task, i) => {
          if (mixture && t.events[i]!.grokked_step === m.step) progress.note(`${task.name} grokked at step ${m.step} (test acc ${m[`test_acc/${task.name}`]!.toFixed(3)})`);
        });
        if (t.grokkedStep !== null && grokked === null) progress.note(`${mixture ? "co-grokked" : "grokked"} at step ${(grokked = t.grokkedStep)} (test acc ${m.test_acc.toFixed(3)})`);
      },
      shouldStop: () => interrupted !== undefined,
      // Let signals through about five times a second.
      pause: yieldEvery(200),
    },
  }).catch((e) => {
    rd.abandon();
    throw e;
  });
  rd.commit();
  progress.done();
  // The handlers stay: a signal from here to the exit has nothing left to stop.
  process.stdout.write(summaryLine(summary, out, `${workers} worker${workers > 1 ? "s" : ""}`) + "\n");
  if (analysis) process.stdout.write(`${analysisLine(analysis)} -> ${join(out, "report.html")}\n`);
  return interrupted === "SIGTERM" ? 143 : summary.stopped === "interrupted" ? 130 : 0;
}

/** The one line a finished run prints: its events, time and final accuracies; `where` it ran ("2 workers"). */
export function summaryLine(s: Summary, out: string, where: string): string {
  const mem = s.memorized_step === null ? "never memorized" : `memorized at step ${s.memorized_step}`;
  const each = s.tasks && ` (${Object.entries(s.tasks).map(([name, e]) => `${name} ${e.grokked_step ?? "no"}`).join(", ")})`;
  const grok = (s.grokked_step === null ? `did not ${each ? "co-grok" : "grok"}` : `${each ? "co-grokked" : "grokked"} at step ${s.grokked_step}`) + (each || "");
  const f = s.final;
  return `${s.task} p=${s.p} r=${s.frac} seed=${s.seed}: ${mem}, ${grok}; ${s.steps} steps in ${s.wall_s.toFixed(1)} s ` +
    `(${s.ms_per_step.toFixed(1)} ms/step on ${where}), final train acc ${f.train_acc.toFixed(3)} test acc ${f.test_acc.toFixed(3)}` +
    `${s.stopped === "interrupted" ? " (interrupted)" : ""} -> ${out}`;
}
