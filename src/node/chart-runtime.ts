// The source of the chart runtime a report inlines (vega, vega-lite, vega-embed), read from
// their packages' builds (each package's entry lives in the same build folder as its
// minified bundle).

import { readFileSync } from "node:fs";

let cached: string | undefined;

export function chartRuntime(): string {
  cached ??= ([["vega", "vega.min.js"], ["vega-lite", "vega-lite.min.js"], ["vega-embed", "vega-embed.min.js"]] as const)
    .map(([pkg, file]) => readFileSync(new URL(file, import.meta.resolve(pkg)), "utf8"))
    .join("\n;\n");
  return cached;
}
