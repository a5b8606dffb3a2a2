// `grok edge-train URL`: a run trained on a grokwasm Worker (Cloudflare Workers, or workerd
// here through `npm run edge:dev`), slice by slice, each slice one request sized to fit the
// CPU budget of one; then its files downloaded into a run folder like `grok train`'s.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS, resolveConfig } from "../../core/config.js";
import type { Summary } from "../../core/train.js";
import { checkFlags, parseCount, UsageError, withConfigFile } from "../args.js";
import { analysisLine, analyzeRun } from "../analyze.js";
import { checkpointPath, CHECKPOINTS } from "../checkpoints.js";
import { EdgeRun, type EdgeStatus } from "../edge-client.js";
import { makeDirs, writeFileAtomic } from "../files.js";
import { Progress } from "../progress.js";
import { openRunDir } from "../run-dir.js";
import { CONFIG_OPTIONS, summaryLine } from "./train.js";
import type { Command } from "./command.js";

const OPTIONS = ["out", "force", "quiet", "no_report", "run", "slice_steps", "budget_ms"];
/** A Worker request may use 30 s of CPU by default: slices aim at two thirds of it. */
const DEFAULT_BUDGET_MS = 20000;

/**
 * The steps of the next slice: as many as fit `budgetMs` at `msPerStep` (the time of a
 * whole request, per step), cut back to end on an evaluation when that leaves any (a slice
 * that ends between evaluations costs one more).
 */
export function nextSliceSteps(step: number, msPerStep: number, budgetMs: number, evalEvery: number): number {
  const fit = Math.max(1, Math.floor(budgetMs / Math.max(msPerStep, 1e-3)));
  const end = Math.floor((step + fit) / evalEvery) * evalEvery;
  return end > step ? end - step : fit;
}

export const edgeTrain: Command = {
  name: "edge-train",
  summary: "train one model on a grokwasm Worker (Cloudflare), slice by slice",
  switches: ["until_grokked", "force", "quiet", "no_report"],
  help: () => `Usage: grok edge-train URL [options]

Trains a run on the grokwasm Worker at URL (workers/cloudflare; \`npm run edge:dev\` runs
one here on workerd): the run's state lives in the Worker's Durable Object between
requests; each request trains one slice and stores it. At the end the run's files are
downloaded into a run folder (the same files \`grok train\` writes, byte for byte but the
times), then analysed here.

Options: the config keys of \`grok train\`:
${CONFIG_OPTIONS}
  --budget-ms MS       time a request may take: slices are sized to it from the
                       rate so far (a Worker's default CPU limit is 30 s)   [${DEFAULT_BUDGET_MS}]
  --slice-steps N      steps per request, instead of sizing slices to --budget-ms
  --run ID             go on with a run created earlier (printed when it was created)
  --out DIR            run folder                    [runs/edge-<task>_p<p>...]
  --force              replace a run folder that already holds a run
  --no-report          skip the analysis and report at the end
  --quiet              no progress output

Ctrl-C stops after the request under way and downloads the run so far: go on with
\`grok edge-train URL --run ID\`, or here with \`grok train --resume DIR\`.
`,
  async run({ positional, flags: given }) {
    if (positional.length !== 1) throw new UsageError("usage: grok edge-train URL [options] (the Worker's address, e.g. http://127.0.0.1:8787)");
    const flags = withConfigFile(given, (path) => readFileSync(path, "utf8"));
    checkFlags("edge-train", flags, OPTIONS, Object.keys(DEFAULTS));
    const configKeys = Object.keys(flags).filter((k) => !OPTIONS.includes(k));
    if (flags.run !== undefined && configKeys.length > 0) throw new UsageError(`--run goes on with the run's own config: drop --${configKeys[0]!.replace(/_/g, "-")}`);
    const budgetMs = parseCount("budget-ms", flags.budget_ms, 100, 3_600_000, DEFAULT_BUDGET_MS);
    const fixedSteps = flags.slice_steps === undefined ? undefined : parseCount("slice-steps", flags.slice_steps, 1, 10_000_000, 1);
    if (flags.out === true || flags.out === "") throw new UsageError("--out needs a folder");

    const local = flags.run === undefined ? resolveConfig(Object.fromEntries(configKeys.map((k) => [k, flags[k]!]))) : undefined;
    const { run, status } = local ? await EdgeRun.create(positional[0]!, local) : await attach(positional[0]!, String(flags.run));
    const config = status.config;
    const out = typeof flags.out === "string" ? flags.out : join("runs", `edge-${run.id.slice(0, 12)}`);
    const rd = openRunDir(out, flags.force === true ? "replace" : "new");
    const note = (text: string): void => { if (flags.quiet !== true) process.stderr.write(`${text}\n`); };
    note(`${local ? "created" : "going on with"} run ${run.id} at step ${status.step} on ${run.base}`);

    let interrupted = false;
    process.once("SIGINT", () => { interrupted = true; note("stopping after this request..."); });
    const progress = new Progress(config, status.step, process.stderr, flags.quiet === true);
    let step = status.step, done = status.done, requests = 0, msPerStep = 0;
    try {
      while (!done && !interrupted) {
        const steps = fixedSteps ?? (msPerStep > 0 ? nextSliceSteps(step, msPerStep, budgetMs, config.eval_every) : Math.min(config.eval_every, config.steps));
        const t0 = performance.now();
        const slice = await run.advance(steps, fixedSteps === undefined ? budgetMs : undefined);
        requests++;
        msPerStep = (performance.now() - t0) / Math.max(1, slice.step - slice.from);
        for (const m of slice.metrics) progress.onEval(m);
        progress.onStep(slice.step);
        ({ step, done } = slice);
      }
    } catch (e) {
      rd.abandon();
      throw Object.assign(e as Error, { message: `${(e as Error).message}; the run is safe on the Worker: go on with grok edge-train ${run.base} --run ${run.id}` });
    }
    progress.done();
    if (step === 0) {
      rd.abandon();
      process.stdout.write(`run ${run.id} has trained no step yet: go on with grok edge-train ${run.base} --run ${run.id}\n`);
      return 130;
    }
    const summary = await download(run, rd.path, step);
    rd.commit();
    process.stdout.write(summaryLine(summary, out, `workerd, ${requests} request${requests === 1 ? "" : "s"}`) + "\n");
    if (!done) {
      process.stdout.write(`stopped at step ${step}: go on with grok edge-train ${run.base} --run ${run.id} --out ${out} --force, or here with grok train --resume ${out}\n`);
      return 130;
    }
    if (flags.no_report !== true) {
      const { analysis, files } = await analyzeRun(out);
      process.stdout.write(`${analysisLine(analysis)} -> ${files[1]}\n`);
    }
    return 0;
  },
};

async function attach(url: string, id: string): Promise<{ run: EdgeRun; status: EdgeStatus }> {
  const run = EdgeRun.attach(url, id);
  return { run, status: await run.status() };
}

// The run folder from the Worker's files: what `grok train` writes, and the training state
// as the checkpoint to resume from.
async function download(run: EdgeRun, dir: string, step: number): Promise<Summary> {
  const text = async (name: string): Promise<string> => new TextDecoder().decode(await run.file(name));
  writeFileAtomic(join(dir, "config.json"), await text("config.json"));
  writeFileAtomic(join(dir, "metrics.jsonl"), await text("metrics.jsonl"));
  writeFileAtomic(join(dir, "progress.jsonl"), await text("progress.jsonl"));
  writeFileAtomic(join(dir, "model.safetensors"), await run.file("model.safetensors"));
  makeDirs(join(dir, CHECKPOINTS));
  writeFileAtomic(checkpointPath(dir, step), await run.file("checkpoint.safetensors"));
  const summary = JSON.parse(await text("summary.json")) as Summary & { workers: number };
  writeFileAtomic(join(dir, "summary.json"), JSON.stringify({ ...summary, edge: { url: run.base, run: run.id } }, null, 2) + "\n");
  return summary;
}
