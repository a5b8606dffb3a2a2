// The sweep page: the paper's Table A.5 layout (operations x train fractions; a check mark
// with the median grokking step over seeds, or else the best test accuracy reached), then
// every run as a row. A self-contained HTML string: no script, no network.

import type { GridCell, GridTable, SweepRow } from "../core/sweep.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fixed = (x: number | null, digits = 3): string => (x === null ? "–" : x.toFixed(digits));

function cell(c: GridCell | null): string {
  if (c === null) return `<td class="none">–</td>`;
  if (c.median_grokked_step !== null) return `<td class="yes" title="${c.runs} run(s), every one grokked">✓ ${c.median_grokked_step}</td>`;
  const some = c.grokked > 0 ? ` (${c.grokked}/${c.runs} ✓)` : "";
  return `<td class="no" title="${c.runs} run(s); mean over seeds of the best test accuracy">${fixed(c.best_test_acc)}${some}</td>`;
}

function grid(t: GridTable): string {
  const caption = Object.entries(t.fixed).map(([k, v]) => `${k} = ${v}`).join(", ");
  return `${caption ? `<h3>${esc(caption)}</h3>` : ""}<table class="grid"><tr><th>${esc(t.rowKey)} \\ ${esc(t.colKey)}</th>${t.cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>
${t.rows.map((r, i) => `<tr><th>${esc(r)}</th>${t.cells[i]!.map(cell).join("")}</tr>`).join("\n")}</table>`;
}

function rowsTable(rows: readonly SweepRow[]): string {
  const axes = rows[0] ? Object.keys(rows[0].axes) : [];
  const head = [...axes, "status", "memorized", "grokked at", "best test acc", "final test acc", "FFD/FCR W_E", "FFD/FCR W_L", "steps", "folder"];
  const body = rows.map((r) => [
    ...axes.map((a) => esc(r.axes[a]!)),
    r.status === "failed" ? `failed: ${esc(r.error ?? "")}` : r.status,
    r.memorized_step === null ? "–" : String(r.memorized_step),
    r.grokked_step === null ? "–" : String(r.grokked_step),
    fixed(r.best_test_acc), fixed(r.final_test_acc),
    `${fixed(r.ffd_E)} / ${fixed(r.fcr_E)}`, `${fixed(r.ffd_L)} / ${fixed(r.fcr_L)}`,
    r.steps === null ? "–" : String(r.steps),
    `<a href="runs/${encodeURIComponent(r.folder)}/">${esc(r.folder)}</a>`,
  ]);
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>\n${body.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n")}</table>`;
}

export function renderSweepReport(title: string, rows: readonly SweepRow[], tables: readonly GridTable[]): string {
  const counts = ["done", "failed", "interrupted", "pending"].map((s) => [s, rows.filter((r) => r.status === s).length] as const).filter(([, n]) => n > 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>grokwasm sweep: ${esc(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.1em; margin-top: 2em; } h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
table.grid td { text-align: center; min-width: 4em; } td.yes { background: #e3f4e3; } td.no { color: #666; } td.none { color: #bbb; }
</style></head><body>
<h1>Sweep ${esc(title)}</h1>
<p>${rows.length} runs: ${counts.map(([s, n]) => `${n} ${s}`).join(", ")}.</p>
<h2>Grokking by operation and train fraction</h2>
<p>✓ with the median step at which test accuracy first reached 0.99 over the seeds, when every seed grokked; otherwise the best test accuracy reached (mean over seeds), with how many seeds grokked.</p>
${tables.map(grid).join("\n")}
<h2>Every run</h2>
${rowsTable(rows)}
</body></html>
`;
}
