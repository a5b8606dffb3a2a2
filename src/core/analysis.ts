// What a trained model computes, in numbers (docs/model.md, "Fourier lens", after Nanda et
// al. 2023): spectra and FFD/FCR of W_E and W_L, the norms of the logits in the 2-D Fourier
// basis over (a, b), key frequencies, restricted and excluded loss, MLP neuron clusters,
// attention patterns and weight norms. Runs the model on all p^2 inputs (fast path), a
// chunk of rows at a time, and transforms the neurons a group at a time, so that what it
// lays out in WebAssembly memory grows with p^2 only by the p^2 x d_vocab transform of the
// logits (a Worker's 128 MB hold the analysis of a p = 97 run beside the run itself).

import type { RunConfig } from "./config.js";
import { CONTEXT, buildDataset, type Dataset, type Split } from "./data/data.js";
import { FastPath } from "./model/fast.js";
import { fourierBasis, type FourierBasis } from "./fourier/basis.js";
import { DEFAULT_ETA, fcr, ffd, type FrequencyNorms } from "./fourier/measures.js";
import { FourierProgress } from "./fourier/progress.js";
import { Transform2d } from "./fourier/transform2d.js";
import type { Model } from "./model/model.js";
import { resolveTasks, type Task } from "./data/tasks.js";
import type { Vocab } from "./data/vocab.js";

/** Inputs the model runs on at a time (its forward pass is row by row: the numbers do not depend on this). */
export const ANALYSIS_ROWS = 1024;
/** Neurons transformed at a time (each neuron's transform is its own: the numbers do not depend on this). */
export const NEURON_GROUP = 64;

/** A frequency is key when its share of the logits' non-constant 2-D energy is at least this fraction of the largest. */
export const KEY_ENERGY_FRACTION = 0.1;

export interface SpectrumSummary {
  /** Frequencies 1..K. */
  k: number[];
  mu: number[];
  nu: number[];
}

/** What the model computes on one task: its logits and activations over all p^2 inputs. */
export interface TaskAnalysis {
  task: string;
  formula: string;
  /** Basis labels ("const", "cos 1", ...) and the norm over output classes of each 2-D coefficient: [p][p], first index over a, second over b. */
  logit_fourier: { labels: string[]; norms: number[][] };
  /** Non-constant energy of the logits per frequency k = 1..K (sum of squared 2-D coefficients involving k). */
  frequency_energy: number[];
  key_frequencies: number[];
  loss: { train: number; test: number; all: number };
  /** Loss over all pairs with the logits projected on the 2-D basis built from the constant and the key frequencies. */
  restricted_loss: number;
  /** Train loss with each frequency's 2-D components removed from the logits. */
  excluded_loss: { k: number; loss: number }[];
  neurons: {
    /** Per MLP neuron: the frequency explaining most of its activation variance over (a, b), and that fraction. */
    dominant_frequency: number[];
    fraction_explained: number[];
    clusters: { k: number; neurons: number; mean_fraction: number }[];
  };
  /** Attention of the last position: mean weight on [a, op, b] per head, and per head the weight on a for each (a, b) ([p][p]). */
  attention: { mean: number[][]; on_a: number[][][] };
}

/** The model's weights in the Fourier basis, and each task's analysis (one, or a mixture's members in order). */
export interface Analysis {
  task: string;
  p: number;
  eta: number;
  ffd_E: number;
  fcr_E: number;
  ffd_L: number;
  fcr_L: number;
  spectrum_E: SpectrumSummary;
  spectrum_L: SpectrumSummary;
  weight_norms: Record<string, number>;
  weight_norm: number;
  tasks: TaskAnalysis[];
}

const summary = ({ mu, nu }: FrequencyNorms): SpectrumSummary => ({ k: Array.from(mu, (_, i) => i + 1), mu: Array.from(mu), nu: Array.from(nu) });

/** All p^2 inputs [a, token, b] of one task in (a, b) order; labels of undefined pairs are -1. */
function allInputs(task: Task, vocab: Vocab): Split {
  const p = vocab.p, n = p * p, op = vocab.inputToken(task);
  const tokens = new Int32Array(n * CONTEXT), labels = new Int32Array(n);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    tokens.set([a, op, b], (a * p + b) * CONTEXT);
    labels[a * p + b] = task.label(a, b, p) ?? -1;
  }
  return { n, tokens, labels, segments: [{ task: task.name, start: 0, n }] };
}

/** Mean cross-entropy (float64) over the rows listed, from logits [rows, dv]. */
export function meanLoss(logits: Float32Array, dv: number, labels: Int32Array, rows: Iterable<number>): number {
  let total = 0, count = 0;
  for (const r of rows) {
    let mx = -Infinity;
    for (let c = 0; c < dv; c++) mx = Math.max(mx, logits[r * dv + c]!);
    let sum = 0;
    for (let c = 0; c < dv; c++) sum += Math.exp(logits[r * dv + c]! - mx);
    total += mx + Math.log(sum) - logits[r * dv + labels[r]!]!;
    count++;
  }
  return total / count;
}

// Zeroes every 2-D coefficient F[i, j, :] for which keep(freq i, freq j) is false.
function project(F: Float32Array, basis: FourierBasis, m: number, keep: (fi: number, fj: number) => boolean): Float32Array {
  const p = basis.p, out = F.slice();
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
    if (!keep(basis.frequency[i]!, basis.frequency[j]!)) out.fill(0, (i * p + j) * m, (i * p + j + 1) * m);
  }
  return out;
}

/** Norm over the m values of each 2-D coefficient ([p][p]), and the energy of each frequency 1..K. */
export function logitSpectrum(F: Float32Array, basis: FourierBasis, m: number): { norms: number[][]; energy: number[] } {
  const p = basis.p, K = (p - 1) / 2;
  const norms: number[][] = [];
  const energy = new Array<number>(K).fill(0);
  for (let i = 0; i < p; i++) {
    const row: number[] = [];
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += F[(i * p + j) * m + c]! ** 2;
      row.push(Math.sqrt(s));
      for (const k of new Set([basis.frequency[i]!, basis.frequency[j]!])) if (k > 0) energy[k - 1]! += s;
    }
    norms.push(row);
  }
  return { norms, energy };
}

/** Frequencies (1-based) whose energy is at least `fraction` of the largest. */
export function keyFrequencies(energy: readonly number[], fraction = KEY_ENERGY_FRACTION): number[] {
  const top = Math.max(...energy);
  return energy.flatMap((e, i) => (e >= fraction * top ? [i + 1] : []));
}

/** Loss over `rows` with the logits projected on the 2-D basis of the constant and `keys`. */
export function restrictedLoss(t2d: Transform2d, F: Float32Array, m: number, keys: readonly number[], labels: Int32Array, rows: readonly number[]): number {
  const keep = new Set([0, ...keys]);
  return meanLoss(t2d.inverse(project(F, t2d.basis, m, (fi, fj) => keep.has(fi) && keep.has(fj)), m), m, labels, rows);
}

/** Loss over `rows` with every 2-D component of the frequencies `ks` removed from the logits. */
export function lossWithout(t2d: Transform2d, F: Float32Array, m: number, ks: readonly number[], labels: Int32Array, rows: readonly number[]): number {
  const drop = new Set(ks);
  return meanLoss(t2d.inverse(project(F, t2d.basis, m, (fi, fj) => !drop.has(fi) && !drop.has(fj)), m), m, labels, rows);
}

/** Loss over `rows` with all 2-D components of frequency k removed from the logits, for k = 1..K. */
export function excludedLoss(t2d: Transform2d, F: Float32Array, m: number, labels: Int32Array, rows: readonly number[]): { k: number; loss: number }[] {
  const K = (t2d.basis.p - 1) / 2;
  return Array.from({ length: K }, (_, i) => ({ k: i + 1, loss: lossWithout(t2d, F, m, [i + 1], labels, rows) }));
}

/**
 * The Gini coefficient of a spectrum's per-frequency norms sqrt(mu_k^2 + nu_k^2): 0 when
 * every frequency carries the same, near 1 when one carries all (Nanda et al.'s measure of
 * sparsity in the Fourier basis).
 */
export function gini({ mu, nu }: FrequencyNorms): number {
  const x = Array.from(mu, (m, i) => Math.hypot(m, nu[i]!)).sort((a, b) => a - b);
  const total = x.reduce((s, v) => s + v, 0);
  if (total === 0) return 0;
  const n = x.length;
  return (2 * x.reduce((s, v, i) => s + (i + 1) * v, 0)) / (n * total) - (n + 1) / n;
}

/**
 * For each of m neurons (activations [p, p, m]; G = the 2-D transform of a neuron's
 * activations over (a, b), a group of neurons at a time): the frequency
 * whose terms (const x k, k x const, k x k) explain most of its variance (all but the
 * const-const term), and that fraction; then the neurons grouped by frequency.
 */
export function neuronClusters(t2d: Transform2d, activations: Float32Array, m: number): TaskAnalysis["neurons"] {
  const basis = t2d.basis, p = basis.p, K = (p - 1) / 2;
  const dominant: number[] = [], fraction: number[] = [];
  const group = Math.min(m, t2d.maxM);
  for (let n0 = 0; n0 < m; n0 += group) {
    const g = Math.min(group, m - n0);
    const columns = new Float32Array(p * p * g);
    for (let r = 0; r < p * p; r++) columns.set(activations.subarray(r * m + n0, r * m + n0 + g), r * g);
    const G = t2d.forward(columns, g);
    for (let n = 0; n < g; n++) {
      const perK = new Array<number>(K + 1).fill(0);
      let total = 0;
      for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
        if (i === 0 && j === 0) continue;
        const s = G[(i * p + j) * g + n]! ** 2;
        total += s;
        const fi = basis.frequency[i]!, fj = basis.frequency[j]!;
        if (fi === 0 || fj === 0 || fi === fj) perK[Math.max(fi, fj)]! += s;
      }
      let best = 1;
      for (let k = 2; k <= K; k++) if (perK[k]! > perK[best]!) best = k;
      dominant.push(best);
      fraction.push(total > 0 ? perK[best]! / total : 0);
    }
  }
  const clusters = [...new Set(dominant)].sort((x, y) => x - y).map((k) => {
    const members = dominant.flatMap((d, n) => (d === k ? [n] : []));
    return { k, neurons: members.length, mean_fraction: members.reduce((s, n) => s + fraction[n]!, 0) / members.length };
  });
  return { dominant_frequency: dominant, fraction_explained: fraction, clusters };
}

/**
 * The analysis of `model` (trained on `cfg`, with vocabulary `vocab`). Its buffers are laid
 * out for the call and given back after.
 */
export function analyze(model: Model, cfg: RunConfig, vocab: Vocab, eta = DEFAULT_ETA): Promise<Analysis> {
  return withLens(model, cfg, vocab, async (lens) => {
    const progress = new FourierProgress(model, cfg.p, eta);
    const E = progress.embeddingNorms(), L = progress.neuronLogitNorms();
    const perTask: TaskAnalysis[] = [];
    for (const i of lens.tasks.keys()) perTask.push(await lens.scoped(i, (view) => analyzeTask(lens, view)));
    return {
      task: cfg.task, p: cfg.p, eta,
      ffd_E: ffd(E, eta), fcr_E: fcr(E), ffd_L: ffd(L, eta), fcr_L: fcr(L),
      spectrum_E: summary(E), spectrum_L: summary(L),
      weight_norms: Object.fromEntries(model.layout.entries.map((e) => [e.name, model.tensorNorm(e.name)])),
      weight_norm: model.weightNorm(),
      tasks: perTask,
    };
  });
}

/**
 * What looking at a model takes, laid out once: the Fourier basis, the 2-D transform, a
 * fast path over the model, the run's tasks and data. Given back when `fn` ends.
 */
interface Lens {
  t2d: Transform2d;
  path: FastPath;
  tasks: Task[];
  vocab: Vocab;
  data: Dataset;
  /** Runs `fn` on one task's view; the view's buffers are given back after. */
  scoped<T>(index: number, fn: (view: TaskView) => Promise<T> | T): Promise<T>;
}

function withLens<T>(model: Model, cfg: RunConfig, vocab: Vocab, fn: (lens: Lens) => Promise<T>): Promise<T> {
  const { engine } = model;
  return engine.scoped(() => {
    const t2d = new Transform2d(engine, fourierBasis(engine, cfg.p), Math.max(model.dims.d_vocab, NEURON_GROUP));
    const path = new FastPath(model);
    const tasks = resolveTasks(cfg.task);
    const data = buildDataset(tasks, vocab, cfg.frac, cfg.seed);
    const lens: Lens = { t2d, path, tasks, vocab, data, scoped: (i, f) => engine.scoped(async () => f(await viewTask(lens, i))) };
    return fn(lens);
  });
}

/** One task seen through the lens: the model on all p^2 inputs, its logits in the 2-D basis, and which inputs are train and test pairs. */
interface TaskView {
  task: Task;
  inputs: Split;
  logits: Float32Array;
  post: Float32Array;
  attn: Float32Array;
  F: Float32Array;
  norms: number[][];
  energy: number[];
  trainRows: number[];
  testRows: number[];
  allRows: number[];
}

async function viewTask({ path, t2d, tasks, vocab, data }: Lens, index: number): Promise<TaskView> {
  const { model } = path;
  const p = vocab.p, { d_vocab: dv, d_mlp: dmlp, n_heads: H } = model.dims;
  const task = tasks[index]!;
  const inputs = allInputs(task, vocab);
  const n = inputs.n;
  const logits = new Float32Array(n * dv), post = new Float32Array(n * dmlp), attn = new Float32Array(n * H * CONTEXT);
  for (let lo = 0; lo < n; lo += ANALYSIS_ROWS) {
    const rows = Math.min(ANALYSIS_ROWS, n - lo);
    await model.engine.scoped(async () => {
      const chunk: Split = { n: rows, tokens: inputs.tokens.subarray(lo * CONTEXT, (lo + rows) * CONTEXT), labels: inputs.labels.subarray(lo, lo + rows), segments: [{ task: task.name, start: 0, n: rows }] };
      const batch = path.newBatch(chunk, false);
      await path.forward(batch);
      logits.set(model.logits(batch).subarray(0, rows * dv), lo * dv);
      post.set(batch.rows("post", dmlp), lo * dmlp);
      attn.set(batch.field("attn").view().subarray(0, rows * H * CONTEXT), lo * H * CONTEXT);
    });
  }
  const F = t2d.forward(logits, dv);
  const { norms, energy } = logitSpectrum(F, t2d.basis, dv);
  // The rows of this task's train and test pairs among all inputs.
  const rowsOf = (s: Split): number[] => {
    const { start, n } = s.segments[index]!;
    return Array.from({ length: n }, (_, i) => s.tokens[(start + i) * CONTEXT]! * p + s.tokens[(start + i) * CONTEXT + 2]!);
  };
  const trainRows = rowsOf(data.train), testRows = rowsOf(data.test);
  return { task, inputs, logits, post, attn, F, norms, energy, trainRows, testRows, allRows: [...trainRows, ...testRows] };
}

// Everything about one task: the model on all its inputs, in the 2-D Fourier basis.
function analyzeTask({ t2d, path }: Lens, v: TaskView): TaskAnalysis {
  const { model } = path;
  const p = t2d.basis.p, dv = model.dims.d_vocab, dmlp = model.dims.d_mlp, H = model.dims.n_heads;
  const keys = keyFrequencies(v.energy);
  const mean = Array.from({ length: H }, (_, h) => [0, 1, 2].map((i) => {
    let s = 0;
    for (let r = 0; r < v.inputs.n; r++) s += v.attn[(r * H + h) * CONTEXT + i]!;
    return s / v.inputs.n;
  }));
  const onA = Array.from({ length: H }, (_, h) => Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => v.attn[((a * p + b) * H + h) * CONTEXT]!)));
  return {
    task: v.task.name, formula: v.task.formula,
    logit_fourier: { labels: t2d.basis.labels, norms: v.norms },
    frequency_energy: v.energy,
    key_frequencies: keys,
    loss: { train: meanLoss(v.logits, dv, v.inputs.labels, v.trainRows), test: meanLoss(v.logits, dv, v.inputs.labels, v.testRows), all: meanLoss(v.logits, dv, v.inputs.labels, v.allRows) },
    restricted_loss: restrictedLoss(t2d, v.F, dv, keys, v.inputs.labels, v.allRows),
    excluded_loss: excludedLoss(t2d, v.F, dv, v.inputs.labels, v.trainRows),
    neurons: neuronClusters(t2d, v.post, dmlp),
    attention: { mean, on_a: onA },
  };
}

/** A neuron counts as clustered when one frequency explains at least this share of its variance. */
export const CLUSTERED_FRACTION = 0.5;

/**
 * One line of progress.jsonl: the progress measures of Nanda et al. at a step, per task (a
 * mixture's under `<key>/<task>`): the key frequencies and the share of the logits' energy
 * they carry, the restricted loss (all pairs, logits on the key frequencies only), the
 * excluded loss (train pairs, every key frequency removed), the loss over all pairs, how
 * many neurons are clustered and on which frequencies; and the Gini coefficients of the
 * W_E and W_L spectra.
 */
export type ProgressPoint = Record<string, number | number[] | Record<string, number>>;

/**
 * The progress measures of `model` now. `keys` fixes each task's key frequencies (e.g. the
 * final model's, to follow Nanda et al.'s plots over training); by default each step's own.
 */
export function measureProgress(model: Model, cfg: RunConfig, vocab: Vocab, step: number, keys?: readonly (readonly number[])[]): Promise<ProgressPoint> {
  return withLens(model, cfg, vocab, async (lens) => {
    const progress = new FourierProgress(model, cfg.p);
    const point: ProgressPoint = { step, gini_E: gini(progress.embeddingNorms()), gini_L: gini(progress.neuronLogitNorms()) };
    const mixture = lens.tasks.length > 1;
    for (const i of lens.tasks.keys()) {
      const measures = await lens.scoped(i, (v) => measureTask(lens, v, keys?.[i]));
      for (const [k, value] of Object.entries(measures)) point[mixture ? `${k}/${lens.tasks[i]!.name}` : k] = value;
    }
    return point;
  });
}

function measureTask({ t2d, path }: Lens, v: TaskView, fixed?: readonly number[]): ProgressPoint {
  const dv = path.model.dims.d_vocab, dmlp = path.model.dims.d_mlp;
  const keys = fixed ? [...fixed] : keyFrequencies(v.energy);
  const total = v.energy.reduce((s, e) => s + e, 0);
  const neurons = neuronClusters(t2d, v.post, dmlp);
  const clustered = neurons.dominant_frequency.filter((_, n) => neurons.fraction_explained[n]! >= CLUSTERED_FRACTION);
  const clusters: Record<string, number> = {};
  for (const k of clustered) clusters[k] = (clusters[k] ?? 0) + 1;
  return {
    key_frequencies: keys,
    key_weight: total > 0 ? keys.reduce((s, k) => s + v.energy[k - 1]!, 0) / total : 0,
    restricted_loss: restrictedLoss(t2d, v.F, dv, keys, v.inputs.labels, v.allRows),
    excluded_loss: lossWithout(t2d, v.F, dv, keys, v.inputs.labels, v.trainRows),
    loss_all: meanLoss(v.logits, dv, v.inputs.labels, v.allRows),
    neurons_clustered: clustered.length / dmlp,
    clusters,
  };
}
