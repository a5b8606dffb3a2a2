// The WebAssembly build is byte-reproducible: compiling assembly/ again gives the same bytes
// as build/ (pinned assemblyscript, and with it binaryen, in package-lock.json).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { wasmPath } from "../src/node/wasm.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("rebuilding the core gives byte-identical release and debug .wasm files", () => {
  const dir = mkdtempSync(join(tmpdir(), "grokwasm-build-"));
  try {
    for (const target of ["release", "debug"] as const) {
      const out = join(dir, `${target}.wasm`);
      execFileSync(process.execPath, [join(ROOT, "node_modules/assemblyscript/bin/asc.js"), "assembly/index.ts", "--target", target, "--outFile", out], { cwd: ROOT, stdio: "pipe" });
      const a = readFileSync(wasmPath(target)), b = readFileSync(out);
      console.log(`  ${target}: ${sha256(a)} (${a.length} bytes)`);
      assert.equal(sha256(b), sha256(a), `${target}.wasm differs between two builds`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
