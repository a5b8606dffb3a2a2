// A Vega-Lite spec rendered to an SVG string with vega (no browser): the static charts of the
// sweep and transfer pages.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}
