// The self-contained HTML report of a run: every chart rendered to inline SVG with vega
// (no script, no network: it opens offline), plus the numbers as tables. Portable: strings
// in, a string out.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Analysis } from "../core/analysis.js";
import type { Metrics, Summary } from "../core/train.js";
import * as charts from "./charts.js";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? "–" : Number.isInteger(x) ? String(x) : x.toPrecision(digits));

function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

export interface ReportInput {
  config: { task: string; frac: number; seed: number; task_formula?: string };
  metrics: Metrics[];
  summary: Summary;
  analysis: Analysis;
}

export async function renderReport({ config, metrics, summary, analysis: a }: ReportInput): Promise<string> {
  const tokens = Array.from({ length: a.p }, (_, t) => String(t));
  const mixture = a.tasks.length > 1;
  // Over training: the totals, and for a mixture one line per task.
  const curves = (key: "loss" | "acc"): (keyof Metrics)[] => [`train_${key}`, `test_${key}`, ...(mixture ? a.tasks.flatMap((t) => [`train_${key}/${t.task}`, `test_${key}/${t.task}`] as const) : [])];
  const sections: [string, TopLevelSpec][] = [
    ["Loss", charts.overTraining(metrics, summary, curves("loss"), mixture ? "Loss (total: the sum over tasks)" : "Loss", "cross-entropy (log)", true)],
    ["Accuracy", charts.overTraining(metrics, summary, curves("acc"), "Accuracy", "accuracy")],
    ["Fourier progress measures", charts.overTraining(metrics, summary, ["ffd_E", "fcr_E", "ffd_L", "fcr_L"], "FFD and FCR of W_E and W_L", "value")],
    ["Weight norm", charts.overTraining(metrics, summary, ["weight_norm"], "Weight norm", "L2 norm of all weights")],
    ["Embedding spectrum", charts.spectrum(a.spectrum_E, `W_E (number tokens): cos/sin norm per frequency. FFD ${num(a.ffd_E, 3)}, FCR ${num(a.fcr_E, 3)}`)],
    ["Neuron-logit spectrum", charts.spectrum(a.spectrum_L, `W_L = W_U[:, :p]ᵀ W_out: cos/sin norm per frequency. FFD ${num(a.ffd_L, 3)}, FCR ${num(a.fcr_L, 3)}`)],
    ...a.tasks.flatMap((t): [string, TopLevelSpec][] => {
      const of = mixture ? `, ${t.task}` : "";
      return [
        [`Logits in the 2-D Fourier basis${of}`, charts.heatmap(t.logit_fourier.norms, t.logit_fourier.labels, t.logit_fourier.labels, "Norm of the logits' 2-D Fourier coefficients (over output classes)", "basis over a", "basis over b", "norm (symlog colour)", 480, (l) => !l.startsWith("sin"), true)],
        [`Attention${of}`, charts.attentionMeans(t.attention.mean)],
        ...t.attention.on_a.map((cells, h): [string, TopLevelSpec] => [`Attention, head ${h}${of}`, charts.heatmap(cells, tokens, tokens, `Head ${h}: attention of the last position on a`, "a", "b", "weight", 300)]),
        [`Neuron clusters${of}`, charts.neuronClusters(t.neurons)],
        [`Excluded loss${of}`, charts.excludedLoss(t)],
      ];
    }),
  ];
  const svgs = await Promise.all(sections.map(([, spec]) => renderSvg(spec)));
  const events = summary.tasks ? Object.entries(summary.tasks).map(([name, e]) => `${name}: ${num(e.memorized_step)} / ${num(e.grokked_step)}`).join("; ") : "";
  const facts = table([
    ["task", `${config.task} (${config.task_formula ?? config.task}) mod ${a.p}`],
    ["training", `r = ${config.frac}, seed ${config.seed}, ${summary.steps} steps (${summary.stopped})`],
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
        [`restricted loss (key frequencies only, all pairs)${of}`, num(t.restricted_loss)],
      ];
    }),
    ["weight norm", num(a.weight_norm)],
  ]);
  const excluded = a.tasks.map((t) => {
    const keys = t.key_frequencies.join(", ") || "none";
    return `<p>${mixture ? `<b>${esc(t.task)}</b>. ` : ""}Restricted loss: the logits projected on the 2-D Fourier basis built from the constant and the key frequencies (${esc(keys)}), loss over all pairs: <b>${num(t.restricted_loss)}</b> (full: ${num(t.loss.all)}). Excluded loss: train loss with every 2-D component of one frequency removed (full train loss ${num(t.loss.train)}; key frequencies in red).</p>
<div class="wide"><table><tr><th>frequency k</th>${t.excluded_loss.map((e) => `<td>${e.k}</td>`).join("")}</tr>` +
      `<tr><th>excluded loss</th>${t.excluded_loss.map((e) => `<td${t.key_frequencies.includes(e.k) ? ' class="key"' : ""}>${num(e.loss, 3)}</td>`).join("")}</tr></table></div>`;
  }).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>grokwasm report: ${esc(String(config.task))} mod ${a.p}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
.wide { overflow-x: auto; } td.key { background: #fdd; font-weight: bold; }
</style></head><body>
<h1>${esc(String(config.task))} mod ${a.p}: what the model learned</h1>
${facts}
${sections.map(([title], i) => `<h2>${esc(title)}</h2>\n${svgs[i]}`).join("\n")}
<h2>Restricted and excluded loss</h2>
${excluded}
</body></html>
`;
}
