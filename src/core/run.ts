// Run assembly: everything a run needs, built from its config in one place: the task(s) and
// their vocabulary, the data split, the model (seeded initialisation, modules loaded from a
// checkpoint, or a whole training state to resume), the frozen tensors, the path that
// computes gradients, the train and test batches and the Fourier measures. The training loop (train.ts) receives the parts; resume,
// transfer and mixtures plug in here. A run owns every buffer laid out after it began, and
// dispose() gives them back to the engine.

import { ANALYSIS_ROWS, NEURON_GROUP } from "./analysis.js";
import { ConfigError, type RunConfig } from "./config.js";
import { buildDataset, type Dataset } from "./data/data.js";
import { resolveTasks, type Task } from "./data/tasks.js";
import { Vocab, type VocabRecord } from "./data/vocab.js";
import { FourierProgress } from "./fourier/progress.js";
import { checkCompatible, CheckpointError, loadWeights, restoreTrainingState, type Checkpoint, type TrainingState } from "./io/checkpoint.js";
import type { Executor } from "./model/executor.js";
import { batchFloats, FastPath } from "./model/fast.js";
import { initParams } from "./model/init.js";
import { Model, type Batch, type Path } from "./model/model.js";
import { moduleParams, paramLayout, type Dims } from "./model/params.js";
import { ReferencePath } from "./model/reference.js";
import type { Engine, Kernels } from "./wasm/engine.js";

/** A checkpoint and where it came from (named in error messages: a path, a URL). */
export interface CheckpointSource {
  checkpoint: Checkpoint;
  source: string;
}

export interface RunOptions {
  /** Where the fast path's parallel phases run (default: this thread). A worker pool's runs must use the pool's engine. */
  executor?: Executor;
  /**
   * The checkpoint `config.init_from` names (the host reads it): its `config.load` modules
   * replace the seeded initialisation's, which still draws every tensor, so the rest are as
   * in a fresh run.
   */
  weights?: CheckpointSource;
  /** Continue a run: weights, AdamW moments, step and events from a training-state checkpoint. */
  resume?: CheckpointSource;
  /**
   * Refuse, before laying anything out, a run that would need more memory than this (and
   * say what names the limit); `analysis`: whether the analysis at its end counts.
   */
  memoryLimit?: { bytes: number; name: string; analysis?: boolean };
}

const GB = 2 ** 30, MB = 2 ** 20;
export const formatBytes = (b: number): string => (b >= GB ? `${(b / GB).toFixed(1)} GB` : `${Math.max(1, Math.round(b / MB))} MB`);

/**
 * What a run lays out in WebAssembly memory, by part (bytes): the four parameter buffers,
 * the fast path's tables, the train and test batches, and the analysis at its end (and the
 * progress measures along the way): a chunk of the p^2 inputs and the 2-D transforms.
 */
export function memoryEstimate(k: Pick<Kernels, "panels_size" | "pack_scratch_floats" | "mlp_stride">, config: RunConfig, dims: Dims, data: Dataset): Record<string, number> {
  const sum = (o: object): number => Object.values(o).reduce((s: number, x: number) => s + x, 0);
  const batch = (n: number, backward: boolean): number => 4 * n + (config.path === "reference" ? sum(ReferencePath.batchFloats(dims, n, backward)) : sum(batchFloats(k, dims, n, backward).sizes));
  const all = config.p ** 2;
  return {
    model: 4 * paramLayout(dims).total * 4,
    tables: (config.path === "fast" ? FastPath.tablesFloats(k, dims) : 0) * 4,
    "train batch": batch(data.train.n, true) * 4,
    "test batch": batch(data.test.n, false) * 4,
    analysis: (FastPath.tablesFloats(k, dims) + batch(Math.min(all, ANALYSIS_ROWS), false) + (1 + 2 * Math.max(dims.d_vocab, NEURON_GROUP)) * all) * 4,
  };
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
    readonly train: Batch,
    readonly test: Batch,
    readonly fourier: FourierProgress,
    /** The step, events and timing a resumed run continues from. */
    readonly resumed: TrainingState | undefined,
    /** About how many bytes of WebAssembly memory it lays out, its analysis included. */
    readonly memoryBytes: number,
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
    if (config.init_from !== "" && !options.weights && !options.resume) throw new ConfigError(`init_from ${config.init_from}: the host passed no checkpoint for it`);
    const dims = dimsOf(config, vocab);
    const memory = memoryEstimate(engine.k, config, dims, data);
    const limit = options.memoryLimit;
    // The progress measures along the way take what the analysis at the end does.
    if (limit && limit.analysis === false && config.measure_every === 0) delete memory.analysis;
    const need = Object.values(memory).reduce((s, x) => s + x, 0);
    if (limit && need > limit.bytes) {
      const parts = Object.entries(memory).sort(([, a], [, b]) => b - a).slice(0, 3).map(([part, b]) => `${part} ${formatBytes(b)}`).join(", ");
      throw new ConfigError(`this run needs about ${formatBytes(need)} of memory (${parts}), more than ${limit.name} (${formatBytes(limit.bytes)}): lower --frac, --p or the model sizes${memory.analysis ? ", or skip the analysis (--no-report)" : ""}`);
    }
    for (const given of [options.weights, options.resume]) if (given) checkCompatible(given.checkpoint, config, vocab, given.source);
    const mark = engine.mark();
    try {
      const model = new Model(engine, dims, new Set(moduleParams(config.freeze)));
      initParams(model, config.seed);
      if (options.weights) loadWeights(model, options.weights.checkpoint, moduleParams(config.load), options.weights.source);
      const resumed = options.resume && restoreTrainingState(model, options.resume.checkpoint, options.resume.source);
      if (resumed && resumed.events.length !== tasks.length) throw new CheckpointError(`${options.resume!.source} records ${resumed.events.length} tasks, this run has ${tasks.length}`);
      const path = config.path === "reference" ? new ReferencePath(model) : new FastPath(model, options.executor);
      const train = path.newBatch(data.train, true), test = path.newBatch(data.test, false);
      return new Run(config, tasks, vocab, data, model, path, train, test, new FourierProgress(model, config.p), resumed, need, mark);
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
