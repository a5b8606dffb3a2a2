// Vega-Lite specifications of the report's charts: pure functions from a run's numbers to
// chart specs (no rendering, no files).

import type { TopLevelSpec } from "vega-lite";
import type { Analysis, TaskAnalysis } from "../core/analysis.js";
import type { Metrics, Summary } from "../core/train.js";

const WIDTH = 520;
const HEIGHT = 240;

type Row = Record<string, number | string>;

// Frequency axis ticks: every k for small p, else every 4th (and any listed as key).
const frequencyTicks = (ks: readonly number[], keys: readonly number[] = []): number[] => ks.filter((k) => ks.length <= 24 || k % 4 === 0 || keys.includes(k));

// Vertical rules at memorisation and grokking, for charts over training steps.
function eventRules(summary: Summary): object {
  const events: Row[] = [];
  const domain: string[] = [], range: string[] = [];
  const add = (step: number | null, name: string, colour: string): void => {
    if (!step) return;
    const event = `${name} (${step})`;
    events.push({ step, event });
    domain.push(event);
    range.push(colour);
  };
  add(summary.memorized_step, "memorized", "#888");
  add(summary.grokked_step, "grokked", "#d62728");
  return {
    data: { values: events },
    mark: { type: "rule", strokeDash: [4, 3] },
    encoding: { x: { field: "step", type: "quantitative" }, color: { field: "event", type: "nominal", scale: { domain, range }, title: "event" } },
  };
}

/** Lines over training steps (log axis; step 0 is left out), one per metric key. */
export function overTraining(metrics: readonly Metrics[], summary: Summary, keys: readonly (keyof Metrics)[], title: string, yTitle: string, logY = false): TopLevelSpec {
  const values = metrics.filter((m) => m.step > 0).flatMap((m) => keys.map((k) => ({ step: m.step, series: k, value: m[k] })));
  return {
    title, width: WIDTH, height: HEIGHT,
    layer: [
      {
        data: { values },
        mark: { type: "line" },
        encoding: {
          x: { field: "step", type: "quantitative", scale: { type: "log" }, title: "step (log)" },
          y: { field: "value", type: "quantitative", title: yTitle, ...(logY ? { scale: { type: "log" } } : {}) },
          strokeDash: { field: "series", type: "nominal", title: "series" },
        },
      },
      eventRules(summary),
    ],
    resolve: { scale: { color: "independent" } },
  } as TopLevelSpec;
}

/** cos (mu) and sin (nu) norms per frequency. */
export function spectrum(s: Analysis["spectrum_E"], title: string): TopLevelSpec {
  const values = s.k.flatMap((k, i) => [{ k, part: "cos (mu)", norm: s.mu[i]! }, { k, part: "sin (nu)", norm: s.nu[i]! }]);
  return {
    title, width: WIDTH, height: 180, data: { values },
    mark: "bar",
    encoding: {
      x: { field: "k", type: "ordinal", title: "frequency k", axis: { values: frequencyTicks(s.k) } },
      xOffset: { field: "part" },
      y: { field: "norm", type: "quantitative", title: "norm" },
      color: { field: "part", type: "nominal", title: null },
    },
  } as TopLevelSpec;
}

/**
 * A heat map of a [rows][cols] array. Axis labels: at most about a dozen, at indices whose
 * label passes `labelled` (e.g. only "const" and "cos k" rows of a Fourier basis). With
 * `logColor`, colours follow a symmetric-log scale (Fourier norms span decades).
 */
export function heatmap(cells: number[][], rowLabels: string[], colLabels: string[], title: string, rowTitle: string, colTitle: string, colorTitle: string, size = 360,
                        labelled: (label: string) => boolean = () => true, logColor = false): TopLevelSpec {
  const values = cells.flatMap((row, i) => row.map((v, j) => ({ i, j, v })));
  const axis = (labels: string[]) => {
    const candidates = labels.map((l, i) => [l, i] as const).filter(([l]) => labelled(l)).map(([, i]) => i);
    const step = Math.max(1, Math.ceil(candidates.length / 12));
    return { values: candidates.filter((_, n) => n % step === 0), labelExpr: `[${labels.map((l) => JSON.stringify(l)).join(",")}][datum.value]` };
  };
  return {
    title, width: size, height: size, data: { values },
    mark: { type: "rect" },
    encoding: {
      x: { field: "j", type: "ordinal", title: colTitle, axis: { ...axis(colLabels), labelAngle: -60 } },
      y: { field: "i", type: "ordinal", title: rowTitle, axis: axis(rowLabels) },
      color: { field: "v", type: "quantitative", title: colorTitle, scale: { scheme: "viridis", ...(logColor ? { type: "symlog" } : {}) } },
    },
    config: { view: { strokeWidth: 0 } },
  } as TopLevelSpec;
}

/** Mean attention of the last position on [a, op, b], per head. */
export function attentionMeans(mean: number[][]): TopLevelSpec {
  const positions = ["a", "op", "b"];
  const values = mean.flatMap((row, h) => row.map((v, i) => ({ head: `head ${h}`, position: positions[i]!, weight: v })));
  return {
    title: "Attention of the last position, mean over all inputs", width: WIDTH, height: 160, data: { values },
    mark: "bar",
    encoding: {
      x: { field: "head", type: "nominal", title: null },
      xOffset: { field: "position", sort: positions },
      y: { field: "weight", type: "quantitative", scale: { domain: [0, 1] } },
      color: { field: "position", type: "nominal", sort: positions },
    },
  } as TopLevelSpec;
}

/** MLP neurons per dominant frequency, coloured by the mean variance share it explains. */
export function neuronClusters(n: TaskAnalysis["neurons"]): TopLevelSpec {
  return {
    title: "MLP neuron clusters: neurons per dominant frequency", width: WIDTH, height: 180,
    data: { values: n.clusters },
    mark: "bar",
    encoding: {
      x: { field: "k", type: "ordinal", title: "dominant frequency k" },
      y: { field: "neurons", type: "quantitative" },
      color: { field: "mean_fraction", type: "quantitative", title: "mean variance explained", scale: { domain: [0, 1], scheme: "blues" } },
    },
  } as TopLevelSpec;
}

/** Train loss with each frequency removed from the logits, against the full train loss. */
export function excludedLoss(a: TaskAnalysis): TopLevelSpec {
  return {
    title: "Excluded loss: train loss with frequency k removed from the logits", width: WIDTH, height: 180,
    layer: [
      {
        data: { values: a.excluded_loss.map((e) => ({ ...e, key: a.key_frequencies.includes(e.k) ? "key" : "other" })) },
        mark: "bar",
        encoding: {
          x: { field: "k", type: "ordinal", title: "frequency k", axis: { values: frequencyTicks(a.excluded_loss.map((e) => e.k), a.key_frequencies) } },
          y: { field: "loss", type: "quantitative", scale: { type: "symlog" }, title: "train loss (symlog)" },
          color: { field: "key", type: "nominal", title: null, scale: { domain: ["key", "other"], range: ["#d62728", "#9ecae1"] } },
        },
      },
      { data: { values: [{ loss: a.loss.train }] }, mark: { type: "rule", strokeDash: [4, 3] }, encoding: { y: { field: "loss", type: "quantitative" } } },
    ],
  } as TopLevelSpec;
}
