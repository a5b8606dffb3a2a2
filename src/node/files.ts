// Run-folder files, written so that no reader ever sees half a file: whole files go to a
// temporary name first and are renamed into place; the metrics log grows by whole lines.

import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

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
    throw Object.assign(e as Error, { path });
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
export const RUN_FILES = ["config.json", "metrics.jsonl", "progress.jsonl", "model.safetensors", "summary.json", "analysis.json", "report.html", "error.json", "checkpoints"];

/**
 * metrics.jsonl: created empty (or, resuming, kept as it is), then one whole line appended
 * per evaluation. A line that cannot be written whole (a full disk) is cut off again before
 * the error goes on, so the log always ends with a whole line.
 */
export class LineLog {
  private size: number;

  constructor(readonly path: string, keep = false) {
    if (!keep) writeFileAtomic(path, "");
    this.size = statSync(path).size;
  }

  append(line: string): void {
    try {
      appendFileSync(this.path, line);
    } catch (e) {
      truncateSync(this.path, this.size);
      throw Object.assign(e as Error, { path: this.path });
    }
    this.size += Buffer.byteLength(line);
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
