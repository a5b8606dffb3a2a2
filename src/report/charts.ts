// Vega-Lite specifications of the charts of a run: pure functions from a run's numbers to
// chart specs and the rows they draw (no rendering, no files). The report page and the
// browser lab draw the same specs. Every mark has a tooltip; line charts over training
// zoom and pan (drag, wheel) and share a step axis the page switches between log and
// linear.

import type { TopLevelSpec } from "vega-lite";
import type { Analysis, ProgressPoint, TaskAnalysis } from "../core/analysis.js";
import type { Metrics, Summary } from "../core/train.js";

const WIDTH = 560;
const HEIGHT = 240;

/** Colours: train vs test, W_E vs W_L, key frequencies. */
export const COLORS = { train: "#1f77b4", test: "#ff7f0e", W_E: "#2ca02c", W_L: "#9467bd", key: "#d62728", other: "#9ecae1" } as const;

export type Row = Record<string, number | string | boolean | null>;

/** A chart: its id, title, spec, the named datasets it draws, and whether its x axis is the step. */
export interface Chart {
  id: string;
  title: string;
  spec: TopLevelSpec;
  data: Record<string, Row[] | Matrix>;
  stepAxis?: boolean;
}

/** A [rows][cols] matrix, drawn as rows {i, j, v} (expanded by the page: compact to ship). */
export interface Matrix {
  matrix: number[][];
}

const round = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

/** Matrix rows {i, j, v}, and any extra fields (the page does this for compact data). */
export function expandMatrix(m: Matrix, extra: Row = {}): Row[] {
  return m.matrix.flatMap((row, i) => row.map((v, j) => ({ i, j, v, ...extra })));
}

const events = (s: Summary): Row[] => [
  ...(s.memorized_step ? [{ step: s.memorized_step, event: `memorized (${s.memorized_step})` }] : []),
  ...(s.grokked_step ? [{ step: s.grokked_step, event: `${s.tasks ? "co-grokked" : "grokked"} (${s.grokked_step})` }] : []),
];

// The step axis of every chart over training: log (the page may switch it), ending at the data.
const stepX = { field: "step", type: "quantitative", title: "step", scale: { type: "log", nice: false }, axis: { format: "~s" } };

// Zoom and pan on a chart over training, and a vertical rule per event.
const zoom = { name: "zoom", select: "interval", bind: "scales" };
const eventLayer = (name: string) => ({
  data: { name },
  mark: { type: "rule", strokeDash: [4, 3], tooltip: true },
  encoding: { x: { field: "step", type: "quantitative" }, color: { value: "#888" }, tooltip: [{ field: "event" }] },
});

/**
 * Lines over training: `series` picks the fields of each line ({field, label, split?, group?}).
 * Train and test keep their colours; other groups (tasks, matrices) get the dash.
 */
function overTraining(id: string, title: string, metrics: readonly (Metrics | ProgressPoint)[], summary: Summary, series: { field: string; label: string; color: string; dash?: string }[], yTitle: string, logY = false): Chart {
  const rows = metrics.filter((m) => Number(m.step) > 0).flatMap((m) => series.flatMap(({ field, label, color, dash }) => {
    const v = (m as Record<string, unknown>)[field];
    return typeof v === "number" && (!logY || v > 0) ? [{ step: Number(m.step), series: label, color, dash: dash ?? "", value: round(v) }] : [];
  }));
  const labels = series.map((s) => s.label);
  return {
    id, title, stepAxis: true,
    data: { [`${id}_rows`]: rows, [`${id}_events`]: events(summary) },
    spec: {
      width: WIDTH, height: HEIGHT,
      encoding: { x: stepX },
      layer: [
        {
          data: { name: `${id}_rows` },
          params: [zoom],
          mark: { type: "line", tooltip: true, clip: true },
          encoding: {
            y: { field: "value", type: "quantitative", title: yTitle, scale: logY ? { type: "log", nice: false } : { nice: false, zero: false } },
            color: { field: "series", type: "nominal", title: null, scale: { domain: labels, range: series.map((s) => s.color) } },
            strokeDash: { field: "dash", type: "nominal", legend: null, scale: { domain: ["", "dash"], range: [[1, 0], [5, 3]] } },
            tooltip: [{ field: "series", title: "line" }, { field: "step", format: "," }, { field: "value", format: ".4~g" }],
          },
        },
        eventLayer(`${id}_events`),
      ],
    } as TopLevelSpec,
  };
}

const TASK_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Loss or accuracy over training: train and test; for a mixture each task too (colour), train dashed. */
export function curves(kind: "loss" | "acc", metrics: readonly Metrics[], summary: Summary, tasks: readonly string[]): Chart {
  const word = kind === "loss" ? "loss" : "accuracy";
  const series = tasks.length > 1
    ? tasks.flatMap((t, i) => [
      { field: `test_${kind}/${t}`, label: `${t} test`, color: TASK_COLORS[i % TASK_COLORS.length]! },
      { field: `train_${kind}/${t}`, label: `${t} train`, color: TASK_COLORS[i % TASK_COLORS.length]!, dash: "dash" },
    ])
    : [{ field: `train_${kind}`, label: "train", color: COLORS.train }, { field: `test_${kind}`, label: "test", color: COLORS.test }];
  return overTraining(kind, tasks.length > 1 ? `${word} per task (train dashed)` : `${word}`, metrics, summary, series, kind === "loss" ? "cross-entropy (log)" : "accuracy", kind === "loss");
}

export function fourierProgress(metrics: readonly Metrics[], summary: Summary): Chart {
  return overTraining("fourier", "Fourier progress: FFD (solid) and FCR (dashed) of W_E and W_L", metrics, summary, [
    { field: "ffd_E", label: "FFD of W_E", color: COLORS.W_E }, { field: "ffd_L", label: "FFD of W_L", color: COLORS.W_L },
    { field: "fcr_E", label: "FCR of W_E", color: COLORS.W_E, dash: "dash" }, { field: "fcr_L", label: "FCR of W_L", color: COLORS.W_L, dash: "dash" },
  ], "value");
}

export function weightNorm(metrics: readonly Metrics[], summary: Summary): Chart {
  return overTraining("norm", "Weight norm (all parameters)", metrics, summary, [{ field: "weight_norm", label: "L2 norm", color: "#444" }], "L2 norm");
}

/**
 * Nanda et al.'s progress measures against test accuracy: the losses (restricted: logits on
 * the key frequencies only; excluded: train loss with them removed) and the shares in [0, 1]
 * (Gini of the spectra, energy in the key frequencies, neurons clustered on one frequency).
 */
export function progressMeasures(points: readonly ProgressPoint[], metrics: readonly Metrics[], summary: Summary, task: string | null): Chart[] {
  const suffix = task ? `/${task}` : "";
  const byStep = new Map(metrics.map((m) => [m.step, m]));
  const joined = points.map((p) => {
    const m = byStep.get(Number(p.step)) as Record<string, number> | undefined;
    return { ...p, test_acc: m?.[task ? `test_acc/${task}` : "test_acc"] ?? null, test_loss: m?.[task ? `test_loss/${task}` : "test_loss"] ?? null };
  }) as ProgressPoint[];
  const of = task ? `, ${task}` : "";
  return [
    overTraining(`plosses${task ?? ""}`, `Progress measures${of}: losses`, joined, summary, [
      { field: `restricted_loss${suffix}`, label: "restricted loss (key frequencies only)", color: COLORS.key },
      { field: `excluded_loss${suffix}`, label: "excluded loss (key frequencies removed)", color: "#8c564b" },
      { field: "test_loss", label: "test loss", color: COLORS.test },
    ], "cross-entropy (log)", true),
    overTraining(`pshares${task ?? ""}`, `Progress measures${of}: shares`, joined, summary, [
      { field: "gini_E", label: "Gini of W_E's spectrum", color: COLORS.W_E },
      { field: "gini_L", label: "Gini of W_L's spectrum", color: COLORS.W_L },
      { field: `key_weight${suffix}`, label: "logit energy in key frequencies", color: COLORS.key },
      { field: `neurons_clustered${suffix}`, label: "neurons on one frequency", color: "#17becf" },
      { field: "test_acc", label: "test accuracy", color: COLORS.test, dash: "dash" },
    ], "value"),
  ];
}

/** cos (mu) and sin (nu) norms per frequency, key frequencies marked. */
export function spectrum(id: string, s: Analysis["spectrum_E"], title: string, keys: readonly number[]): Chart {
  const rows = s.k.flatMap((k, i) => [
    { k, part: "cos (μ)", norm: round(s.mu[i]!), key: keys.includes(k) },
    { k, part: "sin (ν)", norm: round(s.nu[i]!), key: keys.includes(k) },
  ]);
  return {
    id, title, data: { [id]: rows },
    spec: {
      width: WIDTH, height: 180, data: { name: id },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "k", type: "ordinal", title: "frequency k (key frequencies in red)", axis: { labelColor: { condition: { test: `indexof(${JSON.stringify(keys)}, datum.value) >= 0`, value: COLORS.key }, value: "#444" }, labelAngle: 0, values: s.k.filter((k) => s.k.length <= 30 || k % 5 === 0 || keys.includes(k)) } },
        xOffset: { field: "part" },
        y: { field: "norm", type: "quantitative", title: "norm" },
        color: { field: "part", type: "nominal", title: null, scale: { range: ["#4c78a8", "#f58518"] } },
        stroke: { condition: { test: "datum.key", value: COLORS.key }, value: null },
        tooltip: [{ field: "k", title: "frequency" }, { field: "part" }, { field: "norm", format: ".4~g" }, { field: "key", title: "key frequency" }],
      },
    } as TopLevelSpec,
  };
}

/** The norms of the logits' 2-D Fourier coefficients, symlog colour, key frequencies labelled in red. */
export function logitHeatmap(t: TaskAnalysis, suffix: string): Chart {
  const { labels, norms } = t.logit_fourier;
  const keyLabels = t.key_frequencies.flatMap((k) => [`cos ${k}`, `sin ${k}`]);
  // Labelled rows: const, the cos row of each key frequency, and evenly spaced others away from them.
  const keyRows = t.key_frequencies.map((k) => 2 * k - 1);
  const every = 2 * Math.max(1, Math.round(labels.length / 40));
  const shown = labels.map((_, i) => i).filter((i) => i === 0 || keyRows.includes(i) || (i % every === 1 && keyRows.every((r) => Math.abs(r - i) > every / 2)));
  const axis = { values: shown, labelExpr: `${JSON.stringify(labels)}[datum.value]`, labelColor: { condition: { test: `indexof(${JSON.stringify(keyLabels)}, ${JSON.stringify(labels)}[datum.value]) >= 0`, value: COLORS.key }, value: "#444" } };
  const id = `heat${suffix}`;
  return {
    id, title: "Logits in the 2-D Fourier basis: norm over output classes of each coefficient",
    data: { [id]: { matrix: norms.map((r) => r.map(round)) } },
    spec: {
      width: 520, height: 520, data: { name: id },
      transform: [{ calculate: `${JSON.stringify(labels)}[datum.i]`, as: "over a" }, { calculate: `${JSON.stringify(labels)}[datum.j]`, as: "over b" }],
      mark: { type: "rect", tooltip: true },
      encoding: {
        x: { field: "j", type: "ordinal", title: "basis over b", axis: { ...axis, labelAngle: -60 } },
        y: { field: "i", type: "ordinal", title: "basis over a", axis },
        color: { field: "v", type: "quantitative", title: "norm", scale: { type: "symlog", scheme: "viridis" }, legend: { tickCount: 6, format: ".2~g" } },
        tooltip: [{ field: "over a" }, { field: "over b" }, { field: "v", title: "norm", format: ".4~g" }],
      },
      config: { view: { strokeWidth: 0 } },
    } as TopLevelSpec,
  };
}

/** Per head, the attention of the last position on a for every (a, b): side by side, one scale. */
export function attentionMaps(t: TaskAnalysis, suffix: string): Chart {
  const id = `attn${suffix}`;
  const p = t.attention.on_a[0]?.length ?? 0;
  const heads = t.attention.on_a.map((m) => ({ matrix: m.map((r) => r.map(round)) }));
  return {
    id, title: "Attention of the last position on a, per head (one colour scale)",
    data: Object.fromEntries(heads.map((m, h) => [`${id}_${h}`, m])),
    spec: {
      hconcat: heads.map((_, h) => ({
        width: Math.min(220, 4 * p), height: Math.min(220, 4 * p), title: `head ${h}`,
        data: { name: `${id}_${h}` },
        mark: { type: "rect", tooltip: true },
        encoding: {
          x: { field: "j", type: "ordinal", title: "b", axis: { values: Array.from({ length: p }, (_, i) => i).filter((i) => i % Math.max(1, Math.ceil(p / 8)) === 0) } },
          y: { field: "i", type: "ordinal", title: "a", axis: { values: Array.from({ length: p }, (_, i) => i).filter((i) => i % Math.max(1, Math.ceil(p / 8)) === 0) } },
          color: { field: "v", type: "quantitative", title: "weight on a", scale: { domain: [0, 1], scheme: "blues" } },
          tooltip: [{ field: "i", title: "a" }, { field: "j", title: "b" }, { field: "v", title: "weight on a", format: ".3f" }],
        },
      })),
      resolve: { scale: { color: "shared" } },
      config: { view: { strokeWidth: 0 } },
    } as TopLevelSpec,
  };
}

/** Mean attention of the last position on [a, op, b], per head. */
export function attentionMeans(t: TaskAnalysis, suffix: string): Chart {
  const positions = ["a", "op", "b"];
  const id = `attnmean${suffix}`;
  const rows = t.attention.mean.flatMap((row, h) => row.map((v, i) => ({ head: `head ${h}`, position: positions[i]!, weight: round(v) })));
  return {
    id, title: "Attention of the last position, mean over all inputs", data: { [id]: rows },
    spec: {
      width: WIDTH, height: 160, data: { name: id },
      mark: { type: "bar", tooltip: true },
      encoding: {
        x: { field: "head", type: "nominal", title: null, axis: { labelAngle: 0 } },
        xOffset: { field: "position", sort: positions },
        y: { field: "weight", type: "quantitative", scale: { domain: [0, 1] }, title: "mean weight" },
        color: { field: "position", type: "nominal", sort: positions, title: "position" },
        tooltip: [{ field: "head" }, { field: "position" }, { field: "weight", format: ".3f" }],
      },
    } as TopLevelSpec,
  };
}

/** MLP neurons per dominant frequency (key frequencies in red), with the variance share they explain. */
export function neuronClusters(t: TaskAnalysis, suffix: string): Chart {
  const id = `neurons${suffix}`;
  const rows = t.neurons.clusters.map((c) => ({ k: c.k, neurons: c.neurons, mean_fraction: round(c.mean_fraction), key: t.key_frequencies.includes(c.k) }));
  return {
    id, title: "MLP neurons per dominant frequency (key frequencies outlined in red)", data: { [id]: rows },
    spec: {
      width: WIDTH, height: 180, data: { name: id },
      mark: { type: "bar", tooltip: true, strokeWidth: 2 },
      encoding: {
        x: { field: "k", type: "ordinal", title: "dominant frequency k", axis: { labelAngle: 0 } },
        y: { field: "neurons", type: "quantitative", title: "neurons" },
        color: { field: "mean_fraction", type: "quantitative", title: "mean variance explained", scale: { domain: [0, 1], scheme: "blues" } },
        stroke: { condition: { test: "datum.key", value: COLORS.key }, value: null },
        tooltip: [{ field: "k", title: "frequency" }, { field: "neurons" }, { field: "mean_fraction", title: "mean variance explained", format: ".2f" }, { field: "key", title: "key frequency" }],
      },
    } as TopLevelSpec,
  };
}

/** Train loss with each frequency removed from the logits (log axis), against the full train loss. */
export function excludedLoss(t: TaskAnalysis, suffix: string): Chart {
  const id = `excluded${suffix}`;
  const rows = t.excluded_loss.map((e) => ({ k: e.k, loss: round(e.loss), kind: t.key_frequencies.includes(e.k) ? "key frequency" : "other frequency" }));
  return {
    id, title: "Excluded loss: train loss with frequency k removed from the logits", data: { [id]: rows, [`${id}_full`]: [{ loss: round(t.loss.train), label: "full train loss" }] },
    spec: {
      width: WIDTH, height: 200,
      layer: [
        {
          data: { name: id },
          mark: { type: "bar", tooltip: true },
          encoding: {
            x: { field: "k", type: "ordinal", title: "frequency k", axis: { labelAngle: 0, values: t.excluded_loss.map((e) => e.k).filter((k) => t.excluded_loss.length <= 30 || k % 5 === 0 || t.key_frequencies.includes(k)) } },
            y: { field: "loss", type: "quantitative", scale: { type: "log" }, stack: null, title: "train loss (log)" },
            color: { field: "kind", type: "nominal", title: null, scale: { domain: ["key frequency", "other frequency"], range: [COLORS.key, COLORS.other] } },
            tooltip: [{ field: "k", title: "frequency" }, { field: "loss", format: ".4~g" }, { field: "kind" }],
          },
        },
        { data: { name: `${id}_full` }, mark: { type: "rule", strokeDash: [4, 3], tooltip: true }, encoding: { y: { field: "loss", type: "quantitative" }, tooltip: [{ field: "label" }, { field: "loss", format: ".4~g" }] } },
      ],
    } as TopLevelSpec,
  };
}

/** Every chart of a run's report, in order: over training, then the model, then each task. */
export function runCharts(analysis: Analysis, metrics: readonly Metrics[], summary: Summary, progress: readonly ProgressPoint[]): Chart[] {
  const tasks = analysis.tasks.map((t) => t.task);
  const mixture = tasks.length > 1;
  const allKeys = [...new Set(analysis.tasks.flatMap((t) => t.key_frequencies))].sort((a, b) => a - b);
  const perTask = (t: TaskAnalysis, i: number): Chart[] => {
    const suffix = mixture ? `_${i}` : "";
    const named = (c: Chart): Chart => (mixture ? { ...c, title: `${t.task}: ${c.title}` } : c);
    return [logitHeatmap(t, suffix), excludedLoss(t, suffix), neuronClusters(t, suffix), attentionMeans(t, suffix), attentionMaps(t, suffix)].map(named);
  };
  return [
    curves("acc", metrics, summary, tasks),
    curves("loss", metrics, summary, tasks),
    ...(progress.length ? (mixture ? analysis.tasks.flatMap((t) => progressMeasures(progress, metrics, summary, t.task)) : progressMeasures(progress, metrics, summary, null)) : []),
    fourierProgress(metrics, summary),
    weightNorm(metrics, summary),
    spectrum("spectrumE", analysis.spectrum_E, `W_E (number tokens): cos/sin norm per frequency. FFD ${analysis.ffd_E.toFixed(3)}, FCR ${analysis.fcr_E.toFixed(3)}`, allKeys),
    spectrum("spectrumL", analysis.spectrum_L, `W_L = W_U[:, :p]ᵀ W_out: cos/sin norm per frequency. FFD ${analysis.ffd_L.toFixed(3)}, FCR ${analysis.fcr_L.toFixed(3)}`, allKeys),
    ...analysis.tasks.flatMap(perTask),
  ];
}
