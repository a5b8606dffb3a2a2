// The training loop: full-batch AdamW on the train split, metrics at step 0 and every
// eval_every steps, and the two events grokking is about: memorisation (train accuracy
// first >= 0.99) and grokking (test accuracy first >= 0.99). It receives an assembled run
// (run.ts) and no Node imports: the caller gives a clock and callbacks (CLI, browser page,
// worker alike).

import { measureProgress, type ProgressPoint } from "./analysis.js";
import type { RunConfig } from "./config.js";
import type { TrainingState } from "./io/checkpoint.js";
import type { Split } from "./data/data.js";
import { totalLoss, type LossAndAccuracy } from "./model/model.js";
import type { ProgressMeasures } from "./fourier/progress.js";
import type { Run } from "./run.js";

export const MEMORIZED_ACC = 0.99;
export const GROKKED_ACC = 0.99;
/** With until_grokked, training goes on for this fraction of the grokking step (at least one eval). */
export const AFTER_GROKKING = 0.1;

/**
 * One line of metrics.jsonl: losses and accuracies, then the Fourier progress measures.
 * `train_loss`/`test_loss` are the sum over tasks of each task's mean loss (the training
 * objective), `train_acc`/`test_acc` the accuracy over all examples (the mean over tasks:
 * every task has the same pairs). A mixture adds each task's own under `<key>/<task>`.
 */
export interface Metrics extends ProgressMeasures {
  step: number;
  train_loss: number;
  test_loss: number;
  train_acc: number;
  test_acc: number;
  wall_s: number;
  [perTask: `${"train" | "test"}_${"loss" | "acc"}/${string}`]: number;
}

/** When a task first reached 0.99 train accuracy (memorised) and 0.99 test accuracy (grokked). */
export interface Events {
  memorized_step: number | null;
  grokked_step: number | null;
}

export interface Summary extends Events {
  task: string;
  p: number;
  frac: number;
  seed: number;
  /** A mixture: each task's events; co_grokked_step is grokked_step (every task at >= 0.99 test accuracy). */
  tasks?: Record<string, Events>;
  co_grokked_step?: number | null;
  steps: number;
  stopped: "steps" | "grokked" | "interrupted";
  wall_s: number;
  ms_per_step: number;
  final: Metrics;
}

export class TrainingError extends Error {}

/**
 * The likely cause of a diverged run, and the fix: an eps below float32's smallest normal
 * number rounds away (a zero gradient's update becomes 0/0); a learning rate of 1 or more;
 * AdamW's decoupled decay, which multiplies the weights by 1 - lr * weight_decay each step
 * (at or below 0 it flips or zeroes them); otherwise the learning rate.
 */
export function divergenceCause(c: RunConfig): string {
  if (c.eps < 1.2e-38) return `--eps ${c.eps} rounds to 0 in float32, so a zero gradient's update is 0/0; use about 1e-8`;
  if (c.lr < 1 && c.lr * c.weight_decay >= 1) return `--lr ${c.lr} times --weight-decay ${c.weight_decay} is ${c.lr * c.weight_decay}, at least 1: each step flips or zeroes the weights; lower --weight-decay`;
  return `lower --lr (now ${c.lr})`;
}

/** The step by which all of `steps` had happened, or null while one has not. */
const latest = (steps: readonly (number | null)[]): number | null => (steps.some((s) => s === null) ? null : Math.max(...(steps as number[])));

export class Trainer {
  readonly config: RunConfig;
  step = 0;
  /** Each task's events, in task order. */
  readonly events: Events[];
  private trainMs = 0;
  private readonly startMs: number;
  /** Settles when the last step, evaluation or measurement asked for has finished. */
  private turn: Promise<unknown> = Promise.resolve();

  /** A resumed run continues its step count, events and clocks from its checkpoint. */
  constructor(readonly run: Run, private readonly clock: () => number = () => performance.now()) {
    this.config = run.config;
    const state = run.resumed;
    this.step = state?.step ?? 0;
    this.trainMs = state?.train_ms ?? 0;
    this.startMs = clock() - 1000 * (state?.wall_s ?? 0);
    // An event seen at an evaluation off the schedule (the extra one of an interrupted run)
    // is not one an uninterrupted run has seen: it is seen again, or not, on the schedule.
    const scheduled = (step: number | null): number | null => (step !== null && step % run.config.eval_every === 0 ? step : null);
    this.events = state ? state.events.map((e) => ({ memorized_step: scheduled(e.memorized_step), grokked_step: scheduled(e.grokked_step) })) : run.tasks.map(() => ({ memorized_step: null, grokked_step: null }));
  }

  /** Milliseconds per training step so far (steps only, not evaluations). */
  get msPerStep(): number {
    return this.step > 0 ? this.trainMs / this.step : 0;
  }

  /** What a training-state checkpoint of this moment records besides the tensors. */
  state(): TrainingState {
    return { step: this.step, events: this.events.map((e) => ({ ...e })), train_ms: this.trainMs, wall_s: (this.clock() - this.startMs) / 1000 };
  }

  /** The first evaluation at which every task had memorised its train set. */
  get memorizedStep(): number | null {
    return latest(this.events.map((e) => e.memorized_step));
  }

  /** The first evaluation at which every task had grokked (for a mixture: co-grokking). */
  get grokkedStep(): number | null {
    return latest(this.events.map((e) => e.grokked_step));
  }

  /**
   * Runs `task` once every step, evaluation and measurement asked for before it has finished:
   * they share the model's weights, gradients and scratch, so calls a caller did not await
   * (a benchmark harness, a UI) still run one at a time, in the order they were made.
   */
  private inTurn<T>(task: () => Promise<T>): Promise<T> {
    const result = this.turn.then(task);
    this.turn = result.catch(() => undefined);
    return result;
  }

  /** One full-batch AdamW step; returns the train loss at the weights before it. */
  trainStep(): Promise<number> {
    return this.inTurn(() => this.stepNow());
  }

  private async stepNow(): Promise<number> {
    const t0 = this.clock();
    const { model, path, train } = this.run;
    model.zeroGrad();
    const loss = totalLoss(await path.lossAndGrad(train));
    if (!Number.isFinite(loss)) {
      throw new TrainingError(`train loss became ${loss} at step ${this.step}: training diverged; ${divergenceCause(this.config)}`);
    }
    this.step++;
    await path.update(this.config, this.step);
    this.trainMs += this.clock() - t0;
    return loss;
  }

  /** Train and test loss and accuracy at the current weights; records memorisation/grokking. */
  evaluate(): Promise<Metrics> {
    return this.inTurn(() => this.evaluateNow());
  }

  private async evaluateNow(): Promise<Metrics> {
    const { path, data, fourier, tasks } = this.run;
    const train = await path.evaluate(this.run.train);
    const test = await path.evaluate(this.run.test);
    const accuracy = (r: LossAndAccuracy[], split: Split): number => r.reduce((s, x) => s + x.correct, 0) / split.n;
    const perTask: Record<string, number> = {};
    if (tasks.length > 1) {
      tasks.forEach(({ name }, i) => {
        perTask[`train_loss/${name}`] = train[i]!.loss;
        perTask[`test_loss/${name}`] = test[i]!.loss;
        perTask[`train_acc/${name}`] = train[i]!.correct / data.train.segments[i]!.n;
        perTask[`test_acc/${name}`] = test[i]!.correct / data.test.segments[i]!.n;
      });
    }
    const m: Metrics = {
      step: this.step,
      train_loss: totalLoss(train),
      test_loss: totalLoss(test),
      train_acc: accuracy(train, data.train),
      test_acc: accuracy(test, data.test),
      ...perTask,
      ...fourier.measure(),
      wall_s: (this.clock() - this.startMs) / 1000,
    };
    if (!Number.isFinite(m.train_loss) || !Number.isFinite(m.test_loss)) {
      throw new TrainingError(`loss became ${m.train_loss} (train) / ${m.test_loss} (test) at step ${this.step}: training diverged; ${divergenceCause(this.config)}`);
    }
    this.events.forEach((e, i) => {
      if (e.memorized_step === null && train[i]!.correct / data.train.segments[i]!.n >= MEMORIZED_ACC) e.memorized_step = this.step;
      if (e.grokked_step === null && test[i]!.correct / data.test.segments[i]!.n >= GROKKED_ACC) e.grokked_step = this.step;
    });
    return m;
  }

  /** The progress measures of the model now (Nanda et al.'s, per task). */
  measure(): Promise<ProgressPoint> {
    const { model, config, vocab } = this.run;
    return this.inTurn(() => measureProgress(model, config, vocab, this.step));
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
    const mixture = this.run.tasks.length > 1 && {
      tasks: Object.fromEntries(this.run.tasks.map((t, i) => [t.name, { ...this.events[i]! }])),
      co_grokked_step: this.grokkedStep,
    };
    return {
      task, p, frac, seed,
      memorized_step: this.memorizedStep,
      grokked_step: this.grokkedStep,
      ...mixture,
      steps: this.step,
      stopped,
      wall_s: (this.clock() - this.startMs) / 1000,
      ms_per_step: this.msPerStep,
      final,
    };
  }
}

/** Why a training-state checkpoint is due. */
export type CheckpointReason = "periodic" | "memorized" | "grokked" | "final";

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
  /**
   * Awaited when a training-state checkpoint is due: every ckpt_every steps, at the
   * evaluation where the run first memorised and where it grokked (every task, for a
   * mixture), and at its end (interrupted too). The host stores `trainer.state()` and the
   * model's tensors wherever it keeps them.
   */
  checkpoint?(reasons: CheckpointReason[], trainer: Trainer): Promise<void> | void;
  /** Called with the progress measures, at step 0 and every measure_every steps (a line of progress.jsonl). */
  onProgress?(point: ProgressPoint, trainer: Trainer): void;
}

/**
 * Runs `trainer` to its end: evaluations on schedule, checkpoints when due, stop on steps,
 * grokking or request. A resumed run goes on from its checkpoint's step: the evaluations up
 * to it are already in its metrics.
 */
export async function runTraining(trainer: Trainer, hooks: RunHooks = {}): Promise<Summary> {
  let last: Metrics | undefined;
  const measure = async (): Promise<void> => {
    const every = trainer.config.measure_every;
    if (hooks.onProgress && every > 0 && trainer.step % every === 0) hooks.onProgress(await trainer.measure(), trainer);
  };
  if (!trainer.run.resumed) {
    last = await trainer.evaluate();
    hooks.onEval?.(last, trainer);
    await measure();
  }
  let stopped: Summary["stopped"] | null = trainer.stopReason();
  while (stopped === null) {
    const before = [trainer.memorizedStep, trainer.grokkedStep];
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
    await measure();
    const every = trainer.config.ckpt_every;
    const reasons: CheckpointReason[] = [];
    if (every > 0 && trainer.step % every === 0) reasons.push("periodic");
    if (before[0] === null && trainer.memorizedStep !== null) reasons.push("memorized");
    if (before[1] === null && trainer.grokkedStep !== null) reasons.push("grokked");
    if (stopped !== null) reasons.push("final");
    if (reasons.length > 0) await hooks.checkpoint?.(reasons, trainer);
  }
  if (!last) {
    // Resumed at its very end (its files were not all written): the last evaluation again,
    // logged unless it fell on the schedule (then the log kept it).
    last = await trainer.evaluate();
    if (trainer.step % trainer.config.eval_every !== 0) hooks.onEval?.(last, trainer);
  }
  return trainer.summary(last, stopped);
}

/** One metrics.jsonl line (deterministic: the same metrics give the same bytes). */
export function formatMetrics(m: Metrics): string {
  return JSON.stringify(m) + "\n";
}
