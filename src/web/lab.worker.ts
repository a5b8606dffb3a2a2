// The lab's training worker: the run lives here, off the page's thread, on the same
// WebAssembly core as the CLI (and, when the page is cross-origin isolated, on a pool of
// kernel workers sharing its memory). The page drives it through Comlink: start, pause,
// resume, stop; it hears of every evaluation, and of the model's Fourier picture as it forms.

import { expose, wrap } from "comlink";
import { analyze, type Analysis, type ProgressPoint } from "../core/analysis.js";
import { resolveConfig, type RunConfig } from "../core/config.js";
import { checkCompatible, encodeTrainingState, encodeWeights, loadWeights, readCheckpoint } from "../core/io/checkpoint.js";
import { parseConfigRecord, parseMetrics } from "../core/io/run-files.js";
import { PARAM_NAMES } from "../core/model/params.js";
import { WorkerPool, type KernelWorker } from "../core/model/pool.js";
import { Model } from "../core/model/model.js";
import { dimsOf, Run, vocabOf } from "../core/run.js";
import { formatMetrics, runTraining, Trainer, type Metrics, type Summary } from "../core/train.js";
import { Engine } from "../core/wasm/engine.js";

/** What the page hears. */
export type LabEvent =
  | { type: "started"; config: RunConfig; workers: number; resumedAt: number | null }
  | { type: "eval"; metrics: Metrics; step: number; msPerStep: number }
  | { type: "progress"; point: ProgressPoint }
  | { type: "analysis"; analysis: Analysis }
  | { type: "done"; summary: Summary }
  | { type: "error"; message: string };

/** The files of a run folder the page can save: the same bytes the CLI writes (but wall_s). */
export interface RunFiles {
  "config.json": string;
  "metrics.jsonl": string;
  "progress.jsonl": string;
  "model.safetensors": Uint8Array;
  /** The training state now, to continue the run later (on the page or with grok train --resume). */
  checkpoint: { name: string; bytes: Uint8Array } | null;
}

const wasm = (build: "release" | "shared"): Promise<WebAssembly.Module> => WebAssembly.compileStreaming(fetch(new URL(`./${build}.wasm`, import.meta.url)));

/**
 * The live Fourier picture costs a pass over all p^2 inputs (about a second at p = 97), so it
 * is redrawn at most every 2.5 s, and at most a tenth of the time goes to it.
 */
const ANALYSIS_EVERY_MS = 2500;
const ANALYSIS_SHARE = 0.1;

let current: { run: Run; trainer: Trainer; metrics: Metrics[]; progress: ProgressPoint[]; paused: boolean; stop: boolean; wake?: () => void; pool?: WorkerPool } | undefined;

async function engineFor(workers: number): Promise<{ engine: Engine; pool?: WorkerPool }> {
  if (workers <= 1) return { engine: await Engine.create(await wasm("release")) };
  const pool = await WorkerPool.create(workers, await wasm("shared"), () => {
    const w = new Worker(new URL("./kernel.worker.js", import.meta.url), { type: "module" });
    return { remote: wrap<KernelWorker>(w), terminate: () => w.terminate() };
  });
  return { engine: pool.engine, pool };
}

export const lab = {
  /**
   * Trains `overrides` (config keys as strings) on `workers` threads until its end, a stop,
   * or an error; with `resume`, goes on from a training-state checkpoint's bytes.
   */
  async start(overrides: Record<string, string | boolean>, workers: number, onEvent: (e: LabEvent) => void, resume?: { bytes: Uint8Array; metrics: string; progress: string }): Promise<void> {
    await lab.stop();
    try {
      const config = resolveConfig(overrides);
      const { engine, pool } = await engineFor(workers);
      const resumeFrom = resume ? { checkpoint: readCheckpoint(resume.bytes, "checkpoint"), source: "checkpoint" } : undefined;
      const run = Run.assemble(engine, config, { executor: pool, resume: resumeFrom });
      const trainer = new Trainer(run);
      const prior = resume ? parseMetrics(resume.metrics, "metrics.jsonl").filter((m) => m.step <= trainer.step && m.step % config.eval_every === 0) : [];
      const priorProgress = resume && resume.progress ? resume.progress.trim().split("\n").map((l) => JSON.parse(l) as ProgressPoint).filter((p) => Number(p.step) <= trainer.step) : [];
      const state = { run, trainer, metrics: prior, progress: priorProgress, paused: false, stop: false, pool } as NonNullable<typeof current>;
      current = state;
      onEvent({ type: "started", config, workers, resumedAt: resume ? trainer.step : null });
      for (const m of prior) onEvent({ type: "eval", metrics: m, step: m.step, msPerStep: 0 });
      let lastAnalysis = -Infinity, analysisMs = 0, lastYield = performance.now();
      const analysisDue = (): boolean => performance.now() - lastAnalysis > Math.max(ANALYSIS_EVERY_MS, analysisMs / ANALYSIS_SHARE);
      const drawAnalysis = async (force: boolean): Promise<void> => {
        if (!force && !analysisDue()) return;
        const began = performance.now();
        onEvent({ type: "analysis", analysis: await analyze(run.model, run.config, run.vocab) });
        lastAnalysis = performance.now();
        analysisMs = lastAnalysis - began;
      };
      const summary = await runTraining(trainer, {
        onEval: (m) => {
          state.metrics.push(m);
          onEvent({ type: "eval", metrics: m, step: m.step, msPerStep: trainer.msPerStep });
        },
        onProgress: (point) => {
          state.progress.push(point);
          onEvent({ type: "progress", point });
        },
        shouldStop: () => state.stop,
        // Yield to messages (pause, stop) about 20 times a second; while paused, wait.
        pause: async () => {
          if (performance.now() - lastYield > 50) {
            await new Promise((r) => setTimeout(r, 0));
            lastYield = performance.now();
            if (state.metrics.length) await drawAnalysis(false);
          }
          while (state.paused && !state.stop) await new Promise<void>((r) => (state.wake = r));
        },
      });
      await drawAnalysis(true);
      onEvent({ type: "done", summary });
    } catch (e) {
      onEvent({ type: "error", message: e instanceof Error ? e.message : String(e) });
    }
  },

  pause(): void {
    if (current) current.paused = true;
  },

  resume(): void {
    if (!current) return;
    current.paused = false;
    current.wake?.();
  },

  async stop(): Promise<void> {
    if (!current) return;
    current.stop = true;
    current.paused = false;
    current.wake?.();
  },

  /** The run's files now. */
  files(): RunFiles | null {
    if (!current) return null;
    const { run, trainer, metrics, progress } = current;
    const record = run.record();
    return {
      "config.json": JSON.stringify(record, null, 2) + "\n",
      "metrics.jsonl": metrics.map(formatMetrics).join(""),
      "progress.jsonl": progress.map((p) => JSON.stringify(p) + "\n").join(""),
      "model.safetensors": encodeWeights(run.model, record),
      checkpoint: trainer.step > 0 ? { name: `step-${trainer.step}.safetensors`, bytes: encodeTrainingState(run.model, record, trainer.state(), ["final"]) } : null,
    };
  },

  /** A run folder's files dropped on the page: its config, metrics and the analysis of its model. */
  async view(files: { config: string; metrics: string; model: Uint8Array; progress?: string }): Promise<{ config: RunConfig; metrics: Metrics[]; analysis: Analysis; progress: ProgressPoint[] }> {
    const { config } = parseConfigRecord(files.config, "config.json");
    const metrics = parseMetrics(files.metrics, "metrics.jsonl");
    const vocab = vocabOf(config);
    const model = new Model(await Engine.create(await wasm("release")), dimsOf(config, vocab));
    const checkpoint = readCheckpoint(files.model, "model.safetensors");
    checkCompatible(checkpoint, config, vocab, "model.safetensors");
    loadWeights(model, checkpoint, PARAM_NAMES, "model.safetensors");
    const analysis = await analyze(model, config, vocab);
    const progress = files.progress ? files.progress.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as ProgressPoint) : [];
    return { config, metrics, analysis, progress };
  },
};

export type Lab = typeof lab;

expose(lab);
