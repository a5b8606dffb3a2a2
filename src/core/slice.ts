// Training in slices: a run advanced by a bounded number of steps (or time) per call, its
// whole state carried between calls as training-state checkpoint bytes. A host that keeps
// nothing in memory between requests (a serverless function, a Durable Object, a job queue
// that may hand the job to another machine) stores the bytes and the slice's log lines, and
// the run ends byte-identical to an uninterrupted one: each slice resumes exactly (#7), and
// only the evaluations an uninterrupted run logs are kept.

import type { ProgressPoint } from "./analysis.js";
import type { RunConfig } from "./config.js";
import { encodeTrainingState, readCheckpoint } from "./io/checkpoint.js";
import { Run, type RunOptions } from "./run.js";
import { runTraining, Trainer, type Metrics, type Summary } from "./train.js";
import type { Engine } from "./wasm/engine.js";

export interface SliceLimits {
  /** The most steps this slice trains (at least 1). */
  steps: number;
  /** Stop after the first step that ends this many milliseconds after the slice began (by `clock`). */
  budgetMs?: number;
}

export interface SliceResult {
  /** The step the run is at now. */
  step: number;
  /** The run has ended (its steps, or grokked with until_grokked): there is no next slice. */
  done: boolean;
  /** The training state to start the next slice from (a training-state checkpoint). */
  state: Uint8Array;
  /** The metrics.jsonl lines of this slice: the evaluations an uninterrupted run logs. */
  metrics: Metrics[];
  /** The progress.jsonl lines of this slice. */
  progress: ProgressPoint[];
  /** The evaluation at the slice's end (also when the uninterrupted run would not log it). */
  latest: Metrics;
  /** The run's summary so far (final once `done`). */
  summary: Summary;
  /** Bytes of WebAssembly memory the engine holds after the slice. */
  memoryBytes: number;
}

export class SliceError extends Error {}

/**
 * Trains one slice of `config` on `engine`: from its start when `state` is null, else from
 * the state an earlier slice returned. The run's buffers are given back before it returns.
 */
export async function trainSlice(engine: Engine, config: RunConfig, state: Uint8Array | null, limits: SliceLimits, options: Pick<RunOptions, "memoryLimit"> & { clock?: () => number } = {}): Promise<SliceResult> {
  if (!Number.isInteger(limits.steps) || limits.steps < 1) throw new SliceError(`a slice trains at least 1 step, got steps=${limits.steps}`);
  if (limits.budgetMs !== undefined && !(limits.budgetMs > 0)) throw new SliceError(`a slice's budget must be a positive number of milliseconds, got ${limits.budgetMs}`);
  const clock = options.clock ?? (() => performance.now());
  const resume = state ? { checkpoint: readCheckpoint(state, "the run's stored state"), source: "the run's stored state" } : undefined;
  const run = Run.assemble(engine, config, { resume, memoryLimit: options.memoryLimit });
  try {
    const trainer = new Trainer(run, clock);
    if (trainer.stopReason() !== null) throw new SliceError(`the run has ended at step ${trainer.step}: there is nothing left to train`);
    const target = trainer.step + limits.steps;
    const began = clock();
    const evaluations: Metrics[] = [];
    const progress: ProgressPoint[] = [];
    let saved: Uint8Array | undefined;
    const summary = await runTraining(trainer, {
      onEval: (m) => evaluations.push(m),
      onProgress: (point) => progress.push(point),
      // A slice that reaches the run's own end lets it end there (not interrupted).
      shouldStop: () => trainer.stopReason() === null && (trainer.step >= target || (limits.budgetMs !== undefined && clock() - began >= limits.budgetMs)),
      checkpoint: (reasons) => {
        if (reasons.includes("final")) saved = encodeTrainingState(run.model, run.record(), trainer.state(), reasons);
      },
    });
    const done = summary.stopped !== "interrupted";
    // A slice that ends between evaluations evaluates once more (for `latest`); an
    // uninterrupted run does not log that one.
    const metrics = evaluations.filter((m) => done || m.step % config.eval_every === 0);
    return { step: trainer.step, done, state: saved!, metrics, progress, latest: summary.final, summary, memoryBytes: engine.memory.buffer.byteLength };
  } finally {
    run.dispose();
  }
}
