// What a trained model computes, in numbers (docs/model.md, "Fourier lens", after Nanda et
// al. 2023): spectra and FFD/FCR of W_E and W_L, the norms of the logits in the 2-D Fourier
// basis over (a, b), key frequencies, restricted and excluded loss, MLP neuron clusters,
// attention patterns and weight norms. Runs the model on all p^2 inputs (fast path).

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

/** Loss over `rows` with all 2-D components of frequency k removed from the logits, for k = 1..K. */
export function excludedLoss(t2d: Transform2d, F: Float32Array, m: number, labels: Int32Array, rows: readonly number[]): { k: number; loss: number }[] {
  const K = (t2d.basis.p - 1) / 2;
  return Array.from({ length: K }, (_, i) => {
    const k = i + 1;
    return { k, loss: meanLoss(t2d.inverse(project(F, t2d.basis, m, (fi, fj) => fi !== k && fj !== k), m), m, labels, rows) };
  });
}

/**
 * For each of m neurons (G = 2-D transform of its activations over (a, b)): the frequency
 * whose terms (const x k, k x const, k x k) explain most of its variance (all but the
 * const-const term), and that fraction; then the neurons grouped by frequency.
 */
export function neuronClusters(G: Float32Array, basis: FourierBasis, m: number): TaskAnalysis["neurons"] {
  const p = basis.p, K = (p - 1) / 2;
  const dominant: number[] = [], fraction: number[] = [];
  for (let n = 0; n < m; n++) {
    const perK = new Array<number>(K + 1).fill(0);
    let total = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
      if (i === 0 && j === 0) continue;
      const s = G[(i * p + j) * m + n]! ** 2;
      total += s;
      const fi = basis.frequency[i]!, fj = basis.frequency[j]!;
      if (fi === 0 || fj === 0 || fi === fj) perK[Math.max(fi, fj)]! += s;
    }
    let best = 1;
    for (let k = 2; k <= K; k++) if (perK[k]! > perK[best]!) best = k;
    dominant.push(best);
    fraction.push(total > 0 ? perK[best]! / total : 0);
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
  return model.engine.scoped(() => analyzeModel(model, cfg, vocab, eta));
}

async function analyzeModel(model: Model, cfg: RunConfig, vocab: Vocab, eta: number): Promise<Analysis> {
  const { engine } = model;
  const progress = new FourierProgress(model, cfg.p, eta);
  const E = progress.embeddingNorms(), L = progress.neuronLogitNorms();
  const basis = fourierBasis(engine, cfg.p);
  const t2d = new Transform2d(engine, basis);
  const path = new FastPath(model);
  const tasks = resolveTasks(cfg.task);
  const data = buildDataset(tasks, vocab, cfg.frac, cfg.seed);
  const perTask: TaskAnalysis[] = [];
  // One task at a time, each laying out its batch over all p^2 inputs and giving it back.
  for (const [i, task] of tasks.entries()) perTask.push(await engine.scoped(() => analyzeTask(path, t2d, task, vocab, data, i)));
  return {
    task: cfg.task, p: cfg.p, eta,
    ffd_E: ffd(E, eta), fcr_E: fcr(E), ffd_L: ffd(L, eta), fcr_L: fcr(L),
    spectrum_E: summary(E), spectrum_L: summary(L),
    weight_norms: Object.fromEntries(model.layout.entries.map((e) => [e.name, model.tensorNorm(e.name)])),
    weight_norm: model.weightNorm(),
    tasks: perTask,
  };
}

// Task number `index` of the run: the model on all its inputs, in the 2-D Fourier basis.
async function analyzeTask(path: FastPath, t2d: Transform2d, task: Task, vocab: Vocab, data: Dataset, index: number): Promise<TaskAnalysis> {
  const { model } = path;
  const p = vocab.p, dv = model.dims.d_vocab, dmlp = model.dims.d_mlp, H = model.dims.n_heads;
  const inputs = allInputs(task, vocab);
  const batch = path.newBatch(inputs, false);
  await path.forward(batch);
  const logits = model.logits(batch).slice();
  const post = batch.field("post").read();
  const attn = batch.field("attn").read();

  const F = t2d.forward(logits, dv);
  const { norms, energy } = logitSpectrum(F, t2d.basis, dv);
  const keys = keyFrequencies(energy);

  // The rows of this task's train and test pairs among all inputs.
  const rowsOf = (s: Split): number[] => {
    const { start, n } = s.segments[index]!;
    return Array.from({ length: n }, (_, i) => s.tokens[(start + i) * CONTEXT]! * p + s.tokens[(start + i) * CONTEXT + 2]!);
  };
  const trainRows = rowsOf(data.train), testRows = rowsOf(data.test);
  const allRows = [...trainRows, ...testRows];

  const mean = Array.from({ length: H }, (_, h) => [0, 1, 2].map((i) => {
    let s = 0;
    for (let r = 0; r < inputs.n; r++) s += attn[(r * H + h) * CONTEXT + i]!;
    return s / inputs.n;
  }));
  const onA = Array.from({ length: H }, (_, h) => Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => attn[((a * p + b) * H + h) * CONTEXT]!)));

  return {
    task: task.name, formula: task.formula,
    logit_fourier: { labels: t2d.basis.labels, norms },
    frequency_energy: energy,
    key_frequencies: keys,
    loss: { train: meanLoss(logits, dv, inputs.labels, trainRows), test: meanLoss(logits, dv, inputs.labels, testRows), all: meanLoss(logits, dv, inputs.labels, allRows) },
    restricted_loss: restrictedLoss(t2d, F, dv, keys, inputs.labels, allRows),
    excluded_loss: excludedLoss(t2d, F, dv, inputs.labels, trainRows),
    neurons: neuronClusters(t2d.forward(post, dmlp), t2d.basis, dmlp),
    attention: { mean, on_a: onA },
  };
}
