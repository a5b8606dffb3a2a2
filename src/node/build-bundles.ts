// `npm run build:bundles`: what runs outside Node, bundled with esbuild from the same sources
// (the core, Comlink, the chart runtime inside; nothing fetched from elsewhere):
// - dist/web: the browser lab, a static folder for `grok serve` or any static host: the
//   page, its two workers and the core's .wasm builds;
// - dist/cloudflare: the Cloudflare Worker (workers/cloudflare), which imports the core's
//   .wasm as a module (workerd compiles no WebAssembly from bytes), for miniflare and
//   `wrangler deploy`.

import { build, type BuildOptions, type Plugin } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

const common: BuildOptions = { absWorkingDir: root, bundle: true, format: "esm", target: "es2022", legalComments: "none", logLevel: "warning" };

function copyWasm(out: string, builds: readonly string[]): void {
  for (const wasm of builds) copyFileSync(`${root}build/${wasm}.wasm`, `${out}/${wasm}.wasm`);
}

async function buildWeb(): Promise<void> {
  const out = `${root}dist/web`;
  mkdirSync(out, { recursive: true });
  await build({
    ...common,
    entryPoints: { main: "src/web/main.ts", "lab.worker": "src/web/lab.worker.ts", "kernel.worker": "src/web/kernel.worker.ts" },
    outdir: out,
    platform: "browser",
    minify: true,
  });
  copyFileSync(`${root}src/web/index.html`, `${out}/index.html`);
  copyWasm(out, ["release", "shared"]);
}

/** `import wasm from ".../build/release.wasm"` stays an import, of the copy beside the bundle. */
const wasmBeside: Plugin = {
  name: "wasm-beside",
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${args.path.split("/").pop()}`, external: true }));
  },
};

async function buildCloudflare(): Promise<void> {
  const out = `${root}dist/cloudflare`;
  mkdirSync(out, { recursive: true });
  await build({
    ...common,
    entryPoints: { worker: "workers/cloudflare/worker.ts" },
    outdir: out,
    platform: "neutral",
    minify: true,
    mainFields: ["module", "main"],
    plugins: [wasmBeside],
  });
  copyWasm(out, ["release"]);
}

await Promise.all([buildWeb(), buildCloudflare()]);
