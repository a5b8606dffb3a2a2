// The training loop: full-batch AdamW on the train split, metrics at step 0 and every
// eval_every steps, and the two events grokking is about: memorisation (train accuracy
// first >= 0.99) and grokking (test accuracy first >= 0.99). It receives an assembled run
// (run.ts) and no Node imports: the caller gives a clock and callbacks (CLI, browser page,
// worker alike).

import type { RunConfig } from "./config.js";
import type { ProgressMeasures } from "./fourier/progress.js";
import type { Run } from "./run.js";

export const MEMORIZED_ACC = 0.99;
export const GROKKED_ACC = 0.99;
/** With until_grokked, training goes on for this fraction of the grokking step (at least one eval). */
export const AFTER_GROKKING = 0.1;

/** One line of metrics.jsonl: losses and accuracies, then the Fourier progress measures. */
export interface Metrics extends ProgressMeasures {
  step: number;
  train_loss: number;
  test_loss: number;
  train_acc: number;
  test_acc: number;
  wall_s: number;
}

export interface Summary {
  task: string;
  p: number;
  frac: number;
  seed: number;
  memorized_step: number | null;
  grokked_step: number | null;
  steps: number;
  stopped: "steps" | "grokked" | "interrupted";
  wall_s: number;
  ms_per_step: number;
  final: Metrics;
}

export class TrainingError extends Error {}

export class Trainer {
  readonly config: RunConfig;
  step = 0;
  memorizedStep: number | null = null;
  grokkedStep: number | null = null;
  private trainMs = 0;
  private readonly startMs: number;

  constructor(readonly run: Run, private readonly clock: () => number = () => performance.now()) {
    this.config = run.config;
    this.startMs = clock();
  }

  /** One full-batch AdamW step; returns the train loss at the weights before it. */
  async trainStep(): Promise<number> {
    const t0 = this.clock();
    const { model, path, train, frozen } = this.run;
    model.zeroGrad();
    const { loss } = await path.lossAndGrad(train);
    if (!Number.isFinite(loss)) {
      throw new TrainingError(`train loss became ${loss} at step ${this.step} (lr ${this.config.lr}): training diverged; lower --lr`);
    }
    this.step++;
    model.adamwStep(this.config, this.step, frozen);
    this.trainMs += this.clock() - t0;
    return loss;
  }

  /** Train and test loss and accuracy at the current weights; records memorisation/grokking. */
  async evaluate(): Promise<Metrics> {
    const { path, data, fourier } = this.run;
    const train = await path.evaluate(this.run.train);
    const test = await path.evaluate(this.run.test);
    const m: Metrics = {
      step: this.step,
      train_loss: train.loss,
      test_loss: test.loss,
      train_acc: train.correct / data.train.n,
      test_acc: test.correct / data.test.n,
      ...fourier.measure(),
      wall_s: (this.clock() - this.startMs) / 1000,
    };
    if (!Number.isFinite(m.train_loss) || !Number.isFinite(m.test_loss)) {
      throw new TrainingError(`loss became ${m.train_loss} (train) / ${m.test_loss} (test) at step ${this.step} (lr ${this.config.lr}): training diverged; lower --lr`);
    }
    if (this.memorizedStep === null && m.train_acc >= MEMORIZED_ACC) this.memorizedStep = this.step;
    if (this.grokkedStep === null && m.test_acc >= GROKKED_ACC) this.grokkedStep = this.step;
    return m;
  }

  /** Why training should stop now, or null to go on. */
  stopReason(): "steps" | "grokked" | null {
    if (this.config.until_grokked && this.grokkedStep !== null) {
      const extra = Math.max(this.config.eval_every, Math.ceil(AFTER_GROKKING * this.grokkedStep));
      if (this.step >= this.grokkedStep + extra) return "grokked";
    }
    return this.step >= this.config.steps ? "steps" : null;
  }

  summary(final: Metrics, stopped: Summary["stopped"]): Summary {
    const { task, p, frac, seed } = this.config;
    return {
      task, p, frac, seed,
      memorized_step: this.memorizedStep,
      grokked_step: this.grokkedStep,
      steps: this.step,
      stopped,
      wall_s: (this.clock() - this.startMs) / 1000,
      ms_per_step: this.step > 0 ? this.trainMs / this.step : 0,
      final,
    };
  }
}

export interface RunHooks {
  /** Called with every evaluation (step 0, every eval_every steps, and the last step). */
  onEval?(m: Metrics, trainer: Trainer): void;
  /** Called after every step with its train loss (progress display). */
  onStep?(step: number, loss: number, trainer: Trainer): void;
  /** Polled after every step; true stops the run early (Ctrl-C). */
  shouldStop?(): boolean;
  /**
   * Awaited after every step: lets the host's event loop run (signals, a page's UI).
   * The host decides how often it really yields.
   */
  pause?(): Promise<void> | void;
}

/** Runs `trainer` to its end: evaluations on schedule, stop on steps, grokking or request. */
export async function runTraining(trainer: Trainer, hooks: RunHooks = {}): Promise<Summary> {
  let last = await trainer.evaluate();
  hooks.onEval?.(last, trainer);
  let stopped: Summary["stopped"] | null = trainer.stopReason();
  while (stopped === null) {
    const loss = await trainer.trainStep();
    hooks.onStep?.(trainer.step, loss, trainer);
    await hooks.pause?.();
    const interrupted = hooks.shouldStop?.() ?? false;
    stopped = interrupted ? "interrupted" : trainer.stopReason();
    if (trainer.step % trainer.config.eval_every === 0 || stopped !== null) {
      last = await trainer.evaluate();
      hooks.onEval?.(last, trainer);
      if (!interrupted) stopped = trainer.stopReason();
    }
  }
  return trainer.summary(last, stopped);
}

/** One metrics.jsonl line (deterministic: the same metrics give the same bytes). */
export function formatMetrics(m: Metrics): string {
  return JSON.stringify(m) + "\n";
}
