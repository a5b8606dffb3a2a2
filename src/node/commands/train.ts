// `grok train`: one model, trained into a run folder.

import { join } from "node:path";
import { DEFAULTS, MAX_P, resolveConfig, type RunConfig } from "../../core/config.js";
import { MAX_WORKERS } from "../../core/model/fast.js";
import { Run } from "../../core/run.js";
import type { Summary } from "../../core/train.js";
import { UsageError } from "../args.js";
import { analysisLine } from "../analyze.js";
import { prepareRunDir } from "../files.js";
import { defaultWorkers, WorkerPool } from "../pool.js";
import { Progress } from "../progress.js";
import { trainIntoFolder, yieldEvery } from "../run-folder.js";
import { loadEngine } from "../wasm.js";
import type { Command } from "./command.js";

/** The config keys as options (`grok train`, and axes of `grok sweep`). */
export const CONFIG_OPTIONS = `  --task NAME|EXPR     task name from \`grok tasks\`, or an expression in a and b,
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
`;

const OPTIONS = ["out", "force", "quiet", "no_report", "workers"];

export const train: Command = {
  name: "train",
  summary: "train one model, write runs/<name>/",
  switches: ["until_grokked", "force", "quiet", "no_report"],
  help: () => `Usage: grok train [options]

Options (defaults = the paper's setup):
${CONFIG_OPTIONS}  --out DIR            run folder                    [runs/<task>_p<p>_r<frac>_s<seed>]
  --workers N          threads sharing each step, 1..${MAX_WORKERS} (results do not depend on it) [cores: ${defaultWorkers()}]
  --force              overwrite a run folder that already holds a run
  --no-report          skip the analysis and report at the end
  --quiet              no progress output

Writes DIR/config.json, metrics.jsonl (one line per evaluation), model.safetensors
(PyTorch names and shapes), summary.json, then analysis.json and report.html.
`,
  async run(args) {
    if (args.positional.length > 0) throw new UsageError(`grok train takes no positional arguments, got '${args.positional[0]}'`);
    const { flags } = args;
    const cfg = resolveConfig(Object.fromEntries(Object.entries(flags).filter(([k]) => !OPTIONS.includes(k))));
    if (flags.out === true || flags.out === "") throw new UsageError("--out needs a folder");
    const out = typeof flags.out === "string" ? flags.out : defaultOut(cfg);
    const workers = flags.workers === undefined ? defaultWorkers() : Number(flags.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new UsageError(`--workers must be an integer from 1 to ${MAX_WORKERS}, got '${flags.workers}'`);
    // Everything that can reject the input runs before the run folder is touched.
    const pool = workers > 1 ? await WorkerPool.create(workers) : undefined;
    try {
      const run = Run.assemble(pool ? pool.engine : await loadEngine(), cfg, { executor: pool });
      prepareRunDir(out, flags.force === true);
      return await trainInto(out, run, flags, workers);
    } finally {
      await pool?.close();
    }
  },
};

function defaultOut(cfg: RunConfig): string {
  const task = cfg.task.replace(/[^A-Za-z0-9+\-_.]/g, "_");
  return join("runs", `${task}_p${cfg.p}_r${cfg.frac}_s${cfg.seed}`);
}

async function trainInto(out: string, run: Run, flags: Record<string, string | boolean>, workers: number): Promise<number> {
  const progress = new Progress(run.config.steps, process.stderr, flags.quiet === true);
  let interrupted = false;
  const onSignal = (): void => { interrupted = true; };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let memorized: number | null = null;
  let grokked: number | null = null;
  const mixture = run.tasks.length > 1;
  const { summary, analysis } = await trainIntoFolder(out, run, {
    workers,
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
      shouldStop: () => interrupted,
      // Let signals through about five times a second.
      pause: yieldEvery(200),
    },
  });
  progress.done();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.stdout.write(summaryLine(summary, out, workers) + "\n");
  if (analysis) process.stdout.write(`${analysisLine(analysis)} -> ${join(out, "report.html")}\n`);
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
