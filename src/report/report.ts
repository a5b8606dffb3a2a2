// The report of a run: one self-contained HTML file that works offline. Its charts are
// Vega-Lite specs (charts.ts) drawn in the page by vega-embed, which is inlined with the
// data: tooltips on every mark, zoom and pan on the charts over training, a log/linear step
// axis, and each chart's menu exports SVG or PNG (the static figures for a paper).
// Portable: strings in, a string out; the host hands in the chart runtime's source.

import type { Analysis, ProgressPoint } from "../core/analysis.js";
import type { Metrics, Summary } from "../core/train.js";
import { runCharts, type Chart } from "./charts.js";
import { pageMain, type PageChart } from "./page.js";

export const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** One number format for the whole report: 4 significant digits, integers as they are. */
export const num = (x: number | null | undefined): string => (x === null || x === undefined ? "–" : Number.isInteger(x) ? String(x) : Number(x.toPrecision(4)).toString());
// Text inlined in a <script> must not close it.
const inline = (js: string): string => js.replace(/<\/(script)/gi, "<\\/$1");

export function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

export interface ReportInput {
  config: { task: string; frac: number; seed: number; p?: number; task_formula?: string };
  metrics: Metrics[];
  summary: Summary;
  analysis: Analysis;
  progress?: ProgressPoint[];
}

/** The page for `input`; `runtime` is the source of vega, vega-lite and vega-embed, inlined. */
export function renderReport({ config, metrics, summary, analysis: a, progress = [] }: ReportInput, runtime: string): string {
  const charts = runCharts(a, metrics, summary, progress);
  const mixture = a.tasks.length > 1;
  const events = summary.tasks ? Object.entries(summary.tasks).map(([name, e]) => `${name}: ${num(e.memorized_step)} / ${num(e.grokked_step)}`).join("; ") : "";
  const facts = table([
    ["task", `${config.task} (${config.task_formula ?? config.task}) mod ${a.p}`],
    ["training", `r = ${config.frac}, seed ${config.seed}, ${summary.steps} steps, stopped: ${summary.stopped}`],
    [mixture ? "memorized / co-grokked at step (every task)" : "memorized / grokked at step", `${num(summary.memorized_step)} / ${num(summary.grokked_step)}`],
    ...(mixture ? [["memorized / grokked at step, per task", events] as [string, string]] : []),
    ["final accuracy (train / test)", `${num(summary.final.train_acc)} / ${num(summary.final.test_acc)}`],
    ["FFD / FCR of W_E", `${num(a.ffd_E)} / ${num(a.fcr_E)}`],
    ["FFD / FCR of W_L", `${num(a.ffd_L)} / ${num(a.fcr_L)}`],
    ...a.tasks.flatMap((t): [string, string][] => {
      const of = mixture ? ` (${t.task})` : "";
      return [
        [`key frequencies${of}`, t.key_frequencies.join(", ") || "none"],
        [`loss: train / test / all pairs${of}`, `${num(t.loss.train)} / ${num(t.loss.test)} / ${num(t.loss.all)}`],
        [`restricted loss, key frequencies only, all pairs${of}`, num(t.restricted_loss)],
      ];
    }),
    ["weight norm", num(a.weight_norm)],
  ]);
  const over = charts.filter((c) => c.stepAxis);
  const model = charts.filter((c) => c.id.startsWith("spectrum"));
  const taskCharts = charts.filter((c) => !c.stepAxis && !c.id.startsWith("spectrum"));
  const sections: [string, Chart[]][] = [
    ["Over training", over],
    ["The model in the Fourier basis", model],
    ...(mixture ? a.tasks.map((t, i): [string, Chart[]] => [`Task ${t.task} (${t.formula})`, taskCharts.filter((c) => c.id.endsWith(`_${i}`))]) : [["What the model computes", taskCharts] as [string, Chart[]]]),
  ];
  return renderPage(`${config.task} mod ${a.p}: what the model learned`, facts, sections, runtime);
}

/**
 * A self-contained page of charts: a heading, the facts (HTML), then titled sections of
 * charts drawn in the page by the inlined runtime, with the step-axis switch.
 */
export function renderPage(title: string, facts: string, sections: readonly [string, readonly Chart[]][], runtime: string): string {
  const charts = sections.flatMap(([, cs]) => cs);
  const section = ([heading, cs]: readonly [string, readonly Chart[]]): string => `<h2>${esc(heading)}</h2>\n${cs.map((c) => `<h3>${esc(c.title)}</h3><div class="chart" id="chart-${c.id}"></div>`).join("\n")}`;
  const pageCharts: PageChart[] = charts.map(({ id, spec, data, stepAxis }) => ({ id, spec: spec as unknown as Record<string, unknown>, data, stepAxis }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>grokwasm: ${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2.2em; border-bottom: 1px solid #ddd; } h3 { font-size: 0.95em; font-weight: 600; margin: 1.4em 0 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
.controls { position: sticky; top: 0; background: #fff; padding: 0.4em 0; border-bottom: 1px solid #eee; z-index: 1; }
.chart { min-height: 60px; }
</style></head><body>
<h1>${esc(title)}</h1>
${facts}
<div class="controls">step axis: <label><input type="radio" name="step-axis" value="log" checked> log</label> <label><input type="radio" name="step-axis" value="linear"> linear</label>
<small>— drag or scroll a chart over training to zoom (double-click resets); hover any mark for its numbers; each chart's ⋯ menu saves SVG or PNG.</small></div>
${sections.map(section).join("\n")}
<script>${inline(runtime)}</script>
<script>(${inline(pageMain.toString())})(${inline(JSON.stringify(pageCharts))});</script>
</body></html>
`;
}
