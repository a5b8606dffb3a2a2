// The transfer page: the grid in the paper's layout (targets x source and method, then
// scratch; a check mark when the first fraction tried suffices, "r = ..." for the smallest
// that did, a cross when none did), and per target the test accuracy over training of each
// column at the first fraction, against scratch. A self-contained HTML string.

import type { TopLevelSpec } from "vega-lite";
import type { Curve, TransferPlan, TransferRow } from "../core/transfer.js";
import { renderSvg } from "./svg.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const column = (r: TransferRow): string => (r.source ? `${r.source} ${r.method}` : "scratch");

function curvesChart(target: string, rows: readonly TransferRow[], curves: ReadonlyMap<TransferRow, Curve>, frac: string): TopLevelSpec {
  const values = rows.flatMap((r) => (curves.get(r) ?? []).filter((m) => m.step > 0).map((m) => ({ step: m.step, test_acc: m.test_acc, column: column(r) })));
  return {
    title: `${target}: test accuracy at r = ${frac}`, width: 420, height: 200, data: { values },
    mark: { type: "line" },
    encoding: {
      x: { field: "step", type: "quantitative", scale: { type: "log" }, title: "step (log)" },
      y: { field: "test_acc", type: "quantitative", scale: { domain: [0, 1] }, title: "test accuracy" },
      color: { field: "column", type: "nominal", title: "trained" },
      strokeDash: { condition: { test: "datum.column === 'scratch'", value: [4, 3] }, value: [1, 0] },
    },
  } as TopLevelSpec;
}

export async function renderTransferReport(plan: TransferPlan, rows: readonly TransferRow[], curves: ReadonlyMap<TransferRow, Curve>): Promise<string> {
  const columns = [...plan.sources.flatMap((s) => [`${s} PG-E`, `${s} PG-T`]), "scratch"];
  const cellOf = (target: string, col: string): TransferRow | undefined => rows.find((r) => r.target === target && column(r) === col);
  const title = (r: TransferRow): string => r.attempts.map((a) => `r=${a.frac}: ${a.error ?? (a.grokked_step !== null ? `grokked at step ${a.grokked_step}` : `best test acc ${a.best_test_acc?.toFixed(3) ?? "–"}`)}`).join("; ");
  const table = `<table class="grid"><tr><th>target</th>${columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>
${plan.targets.map((t) => `<tr><th>${esc(t)}</th>${columns.map((c) => {
    const r = cellOf(t, c);
    const cls = !r ? "" : r.result.startsWith("✓") ? "yes" : r.result.startsWith("r =") ? "some" : "no";
    return `<td class="${cls}" title="${r ? esc(title(r)) : ""}">${r ? esc(r.result) : "–"}${r?.grokked_step != null ? `<br><small>${r.grokked_step}</small>` : ""}</td>`;
  }).join("")}</tr>`).join("\n")}</table>`;
  const charts = await Promise.all(plan.targets.map((t) => renderSvg(curvesChart(t, rows.filter((r) => r.target === t), curves, plan.fracs[0]!))));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>grokwasm transfer: ${esc(plan.grid)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
table.grid td { text-align: center; min-width: 5em; } td.yes { background: #e3f4e3; } td.some { background: #fff4d6; } td.no { color: #666; }
</style></head><body>
<h1>Transfer of pre-grokked modules: the ${esc(plan.grid)} grid</h1>
<p>Sources pre-grokked at r = 0.3: ${plan.sources.map(esc).join(", ")}. PG-E: the source's embedding loaded and frozen; PG-T: its attention and MLP loaded and frozen; scratch: no transfer.
${plan.fracs.length > 1 ? `Each cell is the smallest train fraction r in ${plan.fracs.join(", ")} at which the target groks (✓: r = ${plan.fracs[0]} suffices; ✗: none does), tried in ascending order.` : `Each cell: ✓ when the target groks at r = ${plan.fracs[0]} (the step below), ✗ when it does not.`} Hover a cell for every try.</p>
${table}
<h2>Test accuracy over training</h2>
${charts.join("\n")}
</body></html>
`;
}
