// The training loop: full-batch AdamW on the train split, metrics at step 0 and every
// eval_every steps, and the two events grokking is about: memorisation (train accuracy
// first >= 0.99) and grokking (test accuracy first >= 0.99). No Node imports: the caller
// gives the engine, a clock and callbacks (CLI, browser page, worker alike).

import { ConfigError, type RunConfig } from "./config.js";
import { buildDataset, type Dataset } from "./data.js";
import type { Engine } from "./engine.js";
import type { Executor } from "./executor.js";
import { initParams } from "./init.js";
import { FastPath } from "./fast.js";
import { FourierProgress, type ProgressMeasures } from "./fourier/progress.js";
import { Model, type Batch, type Path } from "./model.js";
import { ReferencePath } from "./reference.js";
import type { Dims } from "./params.js";
import { N_SPECIAL_TOKENS, resolveTask, type Task } from "./tasks.js";

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

export function dimsOf(cfg: RunConfig): Dims {
  return { d_vocab: cfg.p + N_SPECIAL_TOKENS, d_model: cfg.d_model, n_heads: cfg.n_heads, d_head: cfg.d_head, d_mlp: cfg.d_mlp };
}

export class Trainer {
  readonly task: Task;
  readonly data: Dataset;
  readonly model: Model;
  readonly path: Path;
  readonly fourier: FourierProgress;
  private readonly trainBatch: Batch;
  private readonly testBatch: Batch;
  step = 0;
  memorizedStep: number | null = null;
  grokkedStep: number | null = null;
  private trainMs = 0;
  private readonly startMs: number;

  /**
   * `executor` runs the shards of each step (default: this thread); with a worker pool,
   * `engine` must be the pool's shared-memory engine. Results do not depend on it.
   */
  constructor(engine: Engine, readonly config: RunConfig, private readonly clock: () => number = () => performance.now(), executor?: Executor) {
    this.startMs = clock();
    this.task = resolveTask(config.task);
    this.data = buildDataset(this.task, config.p, config.frac, config.seed);
    if (this.data.train.n === 0 || this.data.test.n === 0) {
      throw new ConfigError(`task '${config.task}' at p=${config.p} with --frac ${config.frac} leaves ${this.data.train.n} train and ${this.data.test.n} test pairs: both must be non-empty`);
    }
    this.model = new Model(engine, dimsOf(config));
    initParams(this.model, config.seed);
    this.path = config.path === "reference" ? new ReferencePath(this.model) : new FastPath(this.model, executor);
    this.trainBatch = this.path.newBatch(this.data.train, true);
    this.testBatch = this.path.newBatch(this.data.test, false);
    this.fourier = new FourierProgress(this.model, config.p);
  }

  /** One full-batch AdamW step; returns the train loss at the weights before it. */
  async trainStep(): Promise<number> {
    const t0 = this.clock();
    this.model.zeroGrad();
    const { loss } = await this.path.lossAndGrad(this.trainBatch);
    if (!Number.isFinite(loss)) {
      throw new TrainingError(`train loss became ${loss} at step ${this.step} (lr ${this.config.lr}): training diverged; lower --lr`);
    }
    this.step++;
    this.model.adamwStep(this.config, this.step);
    this.trainMs += this.clock() - t0;
    return loss;
  }

  /** Train and test loss and accuracy at the current weights; records memorisation/grokking. */
  async evaluate(): Promise<Metrics> {
    const train = await this.path.evaluate(this.trainBatch);
    const test = await this.path.evaluate(this.testBatch);
    const m: Metrics = {
      step: this.step,
      train_loss: train.loss,
      test_loss: test.loss,
      train_acc: train.correct / this.data.train.n,
      test_acc: test.correct / this.data.test.n,
      ...this.fourier.measure(),
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
