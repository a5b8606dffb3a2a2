// Run-folder files, written so that no reader ever sees half a file: whole files go to a
// temporary name first and are renamed into place; the metrics log grows by whole lines.

import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export class OutputError extends Error {}

/** Writes `data` to `path` atomically (temp file in the same folder, then rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Every file a run writes in its folder. */
export const RUN_FILES = ["config.json", "metrics.jsonl", "model.safetensors", "summary.json", "analysis.json", "report.html", "error.json"];

/**
 * Makes sure `dir` exists and can be written, before any training starts. A folder that
 * already holds a run is only reused with `force`, and then every file of the old run goes
 * first, so nothing of it is left beside the new one.
 */
export function prepareRunDir(dir: string, force: boolean): void {
  if (!force && existsSync(join(dir, "metrics.jsonl"))) {
    throw new OutputError(`output folder ${dir} already holds a run: pass --force to overwrite it, or choose another --out`);
  }
  try {
    makeDirs(dir);
    for (const f of RUN_FILES) rmSync(join(dir, f), { force: true });
    const probe = join(dir, `.write-test.${process.pid}.tmp`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    throw new OutputError(`cannot write to output folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): choose a writable --out`);
  }
}

/** metrics.jsonl: created empty, then one whole line appended per evaluation. */
export class LineLog {
  constructor(readonly path: string) {
    writeFileAtomic(path, "");
  }

  append(line: string): void {
    appendFileSync(this.path, line);
  }
}

// mkdir -p. Not mkdirSync's `recursive` option: on some paths (e.g. under /proc) it loops
// forever on ENOENT instead of failing.
export function makeDirs(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && statSync(dir).isDirectory()) return;
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir || existsSync(parent)) throw e;
    makeDirs(parent);
    mkdirSync(dir);
  }
}
