// Run-folder files, written so that no reader ever sees half a file: whole files go to a
// temporary name first and are renamed into place; the metrics log grows by whole lines.

import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export class OutputError extends Error {}

/** Writes `data` to `path` atomically (temp file in the same folder, then rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    // The data reaches the disk before the rename makes it visible, and the rename before
    // we go on: after a crash the file is the old one or the new one, whole.
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDir(dirname(path));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every file (and the checkpoints folder) a run writes in its folder. */
export const RUN_FILES = ["config.json", "metrics.jsonl", "model.safetensors", "summary.json", "analysis.json", "report.html", "error.json", "checkpoints"];

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
    for (const f of RUN_FILES) rmSync(join(dir, f), { force: true, recursive: true });
    const probe = join(dir, `.write-test.${process.pid}.tmp`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (e) {
    throw new OutputError(`cannot write to output folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): choose a writable --out`);
  }
}

/** metrics.jsonl: created empty (or, resuming, kept as it is), then one whole line appended per evaluation. */
export class LineLog {
  constructor(readonly path: string, keep = false) {
    if (!keep) writeFileAtomic(path, "");
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
