// `npm run build:web`: the browser lab as a static folder (dist/web) for `grok serve` or any
// static host: the page, its two workers bundled with esbuild (the core, the chart runtime
// and Comlink inside; nothing fetched from elsewhere), and the core's .wasm builds.

import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const out = `${root}dist/web`;

mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: "src/web/main.ts", "lab.worker": "src/web/lab.worker.ts", "kernel.worker": "src/web/kernel.worker.ts" },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(`${root}src/web/index.html`, `${out}/index.html`);
for (const wasm of ["release", "shared"]) copyFileSync(`${root}build/${wasm}.wasm`, `${out}/${wasm}.wasm`);
