// Node edge: reads the compiled core from build/ next to the package and instantiates it.

import { readFileSync } from "node:fs";
import { Engine } from "../core/wasm/engine.js";

export type Build = "release" | "debug" | "shared";

export function wasmPath(build: Build = "release"): URL {
  // dist/src/node/wasm.js -> <package>/build/<build>.wasm
  return new URL(`../../../build/${build}.wasm`, import.meta.url);
}

export function readWasm(build: Build = "release"): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(readFileSync(wasmPath(build)));
  } catch {
    throw new Error(`cannot read ${wasmPath(build).pathname}: build the WebAssembly core first with \`npm run build\``);
  }
}

export function loadEngine(build: Build = "release"): Promise<Engine> {
  return Engine.create(readWasm(build));
}
