// The comparison page of several runs (`grok compare`): one colour per group of runs that
// differ only in their seed, the mean across seeds as a line and min..max as a band, over
// training; and a table of every run's events, final FFD/FCR and key frequencies.

import type { TopLevelSpec } from "vega-lite";
import type { Metrics, Summary } from "../core/train.js";
import type { Chart, Row } from "./charts.js";
import { esc, num, renderPage } from "./report.js";

export interface ComparedRun {
  folder: string;
  /** The runs of one group differ only in seed; its label names what sets it apart. */
  group: string;
  seed: number;
  metrics: Metrics[];
  summary?: Summary;
  /** Each task's key frequencies, from the run's analysis. */
  keys?: number[][];
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/**
 * Per group and evaluated step: the mean, min and max of `field` over the group's runs. A run
 * that stopped early because it grokked (`--until-grokked`) holds its last value to the
 * group's last step; without that the mean would drop where the first seed stops. A step
 * that a run went past without evaluating (another run's last step, off the common grid) is
 * left out, so every point averages the same runs.
 */
export function bands(runs: readonly ComparedRun[], field: keyof Metrics): Row[] {
  const groups = [...new Set(runs.map((r) => r.group))];
  return groups.flatMap((group) => {
    const members = runs.map((r) => ({ r, byStep: new Map(r.metrics.map((m) => [m.step, m[field]])), last: r.metrics.at(-1) })).filter((x) => x.r.group === group);
    const steps = [...new Set(members.flatMap((x) => [...x.byStep.keys()]))].filter((s) => s > 0).sort((a, b) => a - b);
    return steps.flatMap((step) => {
      const vs: number[] = [];
      for (const { r, byStep, last } of members) {
        if (!last) continue;
        const v = byStep.has(step) ? byStep.get(step) : last.step < step && r.summary?.stopped === "grokked" ? last[field] : undefined;
        if (typeof v === "number") vs.push(v);
        else if (last.step > step) return []; // this run went past the step without evaluating it
      }
      return vs.length === 0 ? [] : [{ step, group, n: vs.length, mean: vs.reduce((s, v) => s + v, 0) / vs.length, min: Math.min(...vs), max: Math.max(...vs) }];
    });
  });
}

function bandChart(id: string, title: string, runs: readonly ComparedRun[], field: keyof Metrics, yTitle: string, logY = false): Chart {
  const groups = [...new Set(runs.map((r) => r.group))];
  const color = { field: "group", type: "nominal", title: null, scale: { domain: groups, range: PALETTE } };
  const y = { type: "quantitative", title: yTitle, scale: logY ? { type: "log" } : { zero: false } };
  return {
    id, title, stepAxis: true, data: { [id]: bands(runs, field).filter((r) => !logY || (r.min as number) > 0) },
    spec: {
      width: 620, height: 260, data: { name: id },
      encoding: { x: { field: "step", type: "quantitative", title: "step", scale: { type: "log", nice: false }, axis: { format: "~s" } }, color },
      layer: [
        { mark: { type: "area", opacity: 0.18, tooltip: true }, encoding: { y: { field: "min", ...y }, y2: { field: "max" }, tooltip: [{ field: "group" }, { field: "step" }, { field: "min", format: ".4~g" }, { field: "max", format: ".4~g" }, { field: "n", title: "runs" }] } },
        { params: [{ name: "zoom", select: "interval", bind: "scales" }], mark: { type: "line", tooltip: true }, encoding: { y: { field: "mean", ...y }, tooltip: [{ field: "group" }, { field: "step" }, { field: "mean", format: ".4~g" }, { field: "n", title: "runs" }] } },
      ],
    } as TopLevelSpec,
  };
}

export function renderCompare(runs: readonly ComparedRun[], runtime: string): string {
  const charts = [
    bandChart("cmp_test_acc", "Test accuracy: mean over seeds, band min..max (a run stopped after grokking holds its last value)", runs, "test_acc", "test accuracy"),
    bandChart("cmp_train_acc", "Train accuracy", runs, "train_acc", "train accuracy"),
    bandChart("cmp_test_loss", "Test loss", runs, "test_loss", "cross-entropy (log)", true),
    bandChart("cmp_ffd_L", "FFD of W_L", runs, "ffd_L", "FFD"),
    bandChart("cmp_fcr_L", "FCR of W_L", runs, "fcr_L", "FCR"),
    bandChart("cmp_ffd_E", "FFD of W_E", runs, "ffd_E", "FFD"),
  ];
  const rows = runs.map((r) => {
    const f = r.summary?.final ?? r.metrics.at(-1);
    return `<tr><td>${esc(r.group)}</td><td>${r.seed}</td><td>${num(r.summary?.memorized_step)}</td><td>${num(r.summary?.grokked_step)}</td><td>${num(f?.test_acc)}</td>` +
      `<td>${num(f?.ffd_E)} / ${num(f?.fcr_E)}</td><td>${num(f?.ffd_L)} / ${num(f?.fcr_L)}</td><td>${esc(r.keys?.map((k) => k.join(", ")).join("; ") ?? "–")}</td><td>${esc(r.folder)}</td></tr>`;
  });
  const facts = `<table><tr><th>group</th><th>seed</th><th>memorized at</th><th>grokked at</th><th>final test acc</th><th>FFD / FCR of W_E</th><th>FFD / FCR of W_L</th><th>key frequencies</th><th>folder</th></tr>\n${rows.join("\n")}</table>`;
  const groups = new Set(runs.map((r) => r.group)).size;
  return renderPage(`${runs.length} runs in ${groups} group${groups > 1 ? "s" : ""}`, facts, [["Over training", charts]], runtime);
}
