// A run folder is owned by one process at a time: a lock file (grok.lock: pid, host, start
// time, command) says who, and a lock left by a process that died is taken over. Replacing
// a run (--force) never mixes two runs: the new one is built in a sibling folder and swapped
// in when it ends; killed on the way, the old run is still whole where it was.

import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { makeDirs, OutputError, RUN_FILES } from "./files.js";

export const LOCK = "grok.lock";

interface Holder {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** Locks this process holds, released when it exits (a killed process leaves them stale). */
const held = new Set<string>();
process.on("exit", () => {
  for (const lock of held) rmSync(lock, { force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes `dir`'s lock, or says who holds it. */
export function lockDir(dir: string): void {
  const path = join(dir, LOCK);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: process.argv.slice(2, 4).join(" ") };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + "\n", { flag: "wx" });
      held.add(path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(readFileSync(path, "utf8")) as Holder;
    } catch {
      holder = undefined; // written by a process that died mid-write: stale
    }
    if (holder && (holder.host !== me.host || alive(holder.pid))) {
      throw new OutputError(`${dir} is in use by process ${holder.pid} on ${holder.host} since ${holder.started} (grok ${holder.command}): wait for it to end or stop it`);
    }
    rmSync(path, { force: true });
  }
  throw new OutputError(`${dir}: another process took its lock at the same moment: try again`);
}

export function unlockDir(dir: string): void {
  const path = join(dir, LOCK);
  if (held.delete(path)) rmSync(path, { force: true });
}

/**
 * Where a run is written, owned while it is: `path` (the folder itself, or beside it while
 * replacing an old run), then `commit()` when the run's files are written, or `abandon()`.
 */
export interface RunDir {
  readonly dir: string;
  readonly path: string;
  commit(): void;
  abandon(): void;
}

/**
 * Opens a run folder for a new run:
 *  "new"       it must not hold a run yet (--force says otherwise);
 *  "replace"   an old run stays whole until the new one ends, then they swap (--force);
 *  "overwrite" the old run's files go first (a sweep's own run folders).
 * Nothing is written before the folder is known to be writable and free.
 */
export function openRunDir(dir: string, mode: "new" | "replace" | "overwrite"): RunDir {
  const holdsRun = existsSync(join(dir, "metrics.jsonl")) || existsSync(join(dir, "config.json"));
  if (mode === "new" && holdsRun) throw new OutputError(`output folder ${dir} already holds a run: pass --force to replace it, or choose another --out`);
  writable(dir, () => makeDirs(dir));
  lockDir(dir);
  try {
    if (mode === "replace" && holdsRun) return replacing(dir);
    if (mode === "overwrite") writable(dir, () => { for (const f of RUN_FILES) rmSync(join(dir, f), { force: true, recursive: true }); });
    writable(dir, () => probe(dir));
  } catch (e) {
    unlockDir(dir);
    throw e;
  }
  return { dir, path: dir, commit: () => unlockDir(dir), abandon: () => unlockDir(dir) };
}

/** Opens an existing run folder to write into it (resume, analyze, export): locked, as it is. */
export function openExistingRunDir(dir: string): RunDir {
  if (!existsSync(join(dir, "config.json"))) throw new OutputError(`${dir} is not a run folder: it has no config.json (train one with \`grok train --out ${dir}\`)`);
  lockDir(dir);
  return { dir, path: dir, commit: () => unlockDir(dir), abandon: () => unlockDir(dir) };
}

// The new run is built in <dir>.grok-new-<pid>; at the end the old folder moves aside and the
// new one takes its place. Leftovers of replacements killed before (their process gone) go.
function replacing(dir: string): RunDir {
  const parent = dirname(dir), name = basename(dir);
  for (const f of readdirSync(parent)) {
    const m = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.grok-(new|old)-(\\d+)$`).exec(f);
    if (m && !alive(Number(m[2]))) rmSync(join(parent, f), { recursive: true, force: true });
  }
  const fresh = `${dir}.grok-new-${process.pid}`;
  writable(parent, () => {
    rmSync(fresh, { recursive: true, force: true });
    makeDirs(fresh);
  });
  lockDir(fresh);
  return {
    dir,
    path: fresh,
    commit: () => {
      const old = `${dir}.grok-old-${process.pid}`;
      renameSync(dir, old);
      try {
        renameSync(fresh, dir);
      } catch (e) {
        renameSync(old, dir);
        throw new OutputError(`${dir} changed while this run replaced it (${(e as NodeJS.ErrnoException).code}): the new run is in ${fresh}`);
      }
      held.delete(join(old, LOCK));
      held.delete(join(fresh, LOCK));
      held.add(join(dir, LOCK));
      rmSync(old, { recursive: true, force: true });
      unlockDir(dir);
    },
    abandon: () => {
      unlockDir(fresh);
      rmSync(fresh, { recursive: true, force: true });
      unlockDir(dir);
    },
  };
}

function probe(dir: string): void {
  const file = join(dir, `.write-test.${process.pid}.tmp`);
  writeFileSync(file, "");
  rmSync(file);
}

function writable(dir: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot write to output folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): choose a writable --out`);
  }
}
