// The report page's own script: draws every chart with vega-embed (inlined beside it, so the
// page works offline), expands compact matrices into rows, and switches the step axis of
// the charts over training between log and linear. Runs in the browser: `pageMain` is
// inlined into the page as source, so it uses nothing but its arguments and the globals
// vega-embed defines.

import type { Chart } from "./charts.js";

declare const vegaEmbed: (el: string, spec: unknown, opts: unknown) => Promise<unknown>;

export interface PageChart {
  id: string;
  spec: Record<string, unknown>;
  data: Chart["data"];
  stepAxis?: boolean;
}

/** Draws `charts` into the elements #chart-<id>; wires the step-axis switch (inputs named "step-axis"). */
export function pageMain(charts: PageChart[]): void {
  const rows = (d: unknown): unknown[] => (Array.isArray(d) ? d : (d as { matrix: number[][] }).matrix.flatMap((row, i) => row.map((v, j) => ({ i, j, v }))));
  const draw = (c: PageChart, stepScale: string): void => {
    const spec = JSON.parse(JSON.stringify(c.spec)) as Record<string, any>;
    spec.datasets = Object.fromEntries(Object.entries(c.data).map(([name, d]) => [name, rows(d)]));
    if (c.stepAxis) spec.encoding.x.scale.type = stepScale;
    void vegaEmbed(`#chart-${c.id}`, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" });
  };
  for (const c of charts) draw(c, "log");
  for (const input of Array.from(document.querySelectorAll<HTMLInputElement>("input[name=step-axis]"))) {
    input.addEventListener("change", () => { for (const c of charts) if (c.stepAxis) draw(c, input.value); });
  }
}
