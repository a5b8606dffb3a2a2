// Run assembly: everything a run needs, built from its config in one place: the task and
// its vocabulary, the data split, the model (seeded initialisation, or weights loaded from a
// checkpoint), the frozen tensors, the path that computes gradients, the train and test
// batches and the Fourier measures. The training loop (train.ts) receives the parts; resume,
// transfer and mixtures plug in here. A run owns every buffer laid out after it began, and
// dispose() gives them back to the engine.

import { ConfigError, type RunConfig } from "./config.js";
import { buildDataset, type Dataset } from "./data/data.js";
import { resolveTasks, type Task } from "./data/tasks.js";
import { Vocab, type VocabRecord } from "./data/vocab.js";
import { FourierProgress } from "./fourier/progress.js";
import { loadCheckpoint } from "./io/checkpoint.js";
import type { Executor } from "./model/executor.js";
import { FastPath } from "./model/fast.js";
import { initParams } from "./model/init.js";
import { Model, type Batch, type Path } from "./model/model.js";
import type { Dims, ParamName } from "./model/params.js";
import { ReferencePath } from "./model/reference.js";
import type { Engine } from "./wasm/engine.js";

/** Weights to start from: a safetensors file's bytes, and which tensors to take (default all). */
export interface WeightsSource {
  bytes: Uint8Array;
  /** Named in error messages (a path, a URL). */
  source: string;
  names?: readonly ParamName[];
}

export interface RunOptions {
  /** Where the fast path's parallel phases run (default: this thread). A worker pool's runs must use the pool's engine. */
  executor?: Executor;
  /** Weights loaded after the seeded initialisation (which still draws every tensor, so the rest are as in a fresh run). */
  weights?: WeightsSource;
  /** Tensors AdamW leaves alone: no update, no weight decay. */
  frozen?: Iterable<ParamName>;
}

/** The resolved config as a run folder records it (config.json, checkpoint metadata). */
export interface RunRecord extends RunConfig {
  /** The formula and the middle token of each task (comma-separated for a mixture). */
  task_formula: string;
  op_token: string;
  tasks: { name: string; formula: string; token: number }[];
  d_vocab: number;
  vocab: VocabRecord;
  n_train: number;
  n_test: number;
}

/** The vocabulary of a config's task(s). */
export function vocabOf(config: RunConfig): Vocab {
  return Vocab.forTasks(config.p, resolveTasks(config.task));
}

export function dimsOf(config: RunConfig, vocab: Vocab = vocabOf(config)): Dims {
  return { d_vocab: vocab.size, d_model: config.d_model, n_heads: config.n_heads, d_head: config.d_head, d_mlp: config.d_mlp };
}

export class Run {
  private disposed = false;

  private constructor(
    readonly config: RunConfig,
    /** One task, or the members of a mixture in order (the segments of every split). */
    readonly tasks: readonly Task[],
    readonly vocab: Vocab,
    readonly data: Dataset,
    readonly model: Model,
    readonly path: Path,
    readonly frozen: ReadonlySet<ParamName>,
    readonly train: Batch,
    readonly test: Batch,
    readonly fourier: FourierProgress,
    private readonly mark: number,
  ) {}

  /** Builds a run from a validated config (a ConfigError when its data would be empty). */
  static assemble(engine: Engine, config: RunConfig, options: RunOptions = {}): Run {
    const tasks = resolveTasks(config.task);
    const vocab = Vocab.forTasks(config.p, tasks);
    const data = buildDataset(tasks, vocab, config.frac, config.seed);
    if (data.train.n === 0 || data.test.n === 0) {
      throw new ConfigError(`task '${config.task}' at p=${config.p} with --frac ${config.frac} leaves ${data.train.n} train and ${data.test.n} test pairs: both must be non-empty`);
    }
    const mark = engine.mark();
    try {
      const model = new Model(engine, dimsOf(config, vocab));
      initParams(model, config.seed);
      if (options.weights) loadCheckpoint(model, options.weights.bytes, options.weights.names, options.weights.source);
      const path = config.path === "reference" ? new ReferencePath(model) : new FastPath(model, options.executor);
      const train = path.newBatch(data.train, true), test = path.newBatch(data.test, false);
      return new Run(config, tasks, vocab, data, model, path, new Set(options.frozen), train, test, new FourierProgress(model, config.p), mark);
    } catch (e) {
      engine.release(mark);
      throw e;
    }
  }

  /** The config with what it resolved to: task formulas, tokens, data sizes. */
  record(): RunRecord {
    const tasks = this.tasks.map((t) => ({ name: t.name, formula: t.formula, token: this.vocab.inputToken(t) }));
    return {
      ...this.config,
      task_formula: tasks.map((t) => t.formula).join(","),
      op_token: tasks.map((t) => this.vocab.label(t.token)).join(","),
      tasks,
      d_vocab: this.vocab.size,
      vocab: this.vocab.toRecord(),
      n_train: this.data.train.n,
      n_test: this.data.test.n,
    };
  }

  /** Gives the run's buffers back to the engine; the run must not be used after. */
  dispose(): void {
    if (this.disposed) return;
    this.model.engine.release(this.mark);
    this.disposed = true;
  }
}
