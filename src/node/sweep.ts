// `grok sweep`: a grid of independent runs on a pool of worker threads, one run per
// worker, each worker with its own WebAssembly instance. Every run writes its own folder
// under DIR/runs/; a run whose folder holds a finished run of the same config is skipped,
// so an interrupted sweep resumes; a failing run is recorded with its error and the rest go
// on. At the end (and with --summary DIR, from the run folders alone) DIR/summary.json,
// summary.csv and report.html hold one row per run and the paper's Table A.5 layout.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, extname, join } from "node:path";
import { gridTables, mergeSpecs, recordId, rowsToCsv, specFromDocument, specFromFlags, SweepError, sweepId, sweepRows, type RunFolder, type SweepCell, type SweepRow, type SweepSpec } from "../core/sweep.js";
import type { Metrics, Summary } from "../core/train.js";
import { renderSweepReport } from "../report/sweep.js";
import type { RunOutcome, RunProgress } from "../../workers/run.worker.js";
import { makeDirs, OutputError, writeFileAtomic } from "./files.js";
import { duration } from "./progress.js";
import { recordFailure } from "./run-folder.js";
import { RunThread } from "./run-thread.js";

export interface SweepOptions {
  out: string;
  concurrency: number;
  /** Write each run's analysis and report (off by default: a sweep is about its table). */
  runReports: boolean;
  quiet: boolean;
}

/** The spec of `grok sweep [FILE] [--key values ...]`: a JSON or YAML file, inline flags, or both (flags win). */
export async function readSpec(file: string | undefined, flags: Record<string, string | boolean>): Promise<SweepSpec> {
  const inline = specFromFlags(flags);
  if (file === undefined) return inline;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new OutputError(`cannot read sweep file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? (await import("yaml")).parse(text) : JSON.parse(text);
  } catch (e) {
    throw new SweepError(`sweep file ${file} is not valid ${/\.ya?ml$/i.test(file) ? "YAML" : "JSON"}: ${(e as Error).message.split("\n")[0]}`);
  }
  return mergeSpecs(specFromDocument(doc), inline);
}

/** The default sweep folder: sweeps/<file name>, or sweeps/sweep-<id of the grid>. */
export function defaultSweepDir(file: string | undefined, cells: readonly SweepCell[]): string {
  return join("sweeps", file ? basename(file, extname(file)) : `sweep-${sweepId(cells).slice(0, 8)}`);
}

/** DIR/runs/ and DIR/sweep.json: the grid's cells, each with its id and folder. */
export function writeSweepFile(out: string, cells: readonly SweepCell[]): void {
  makeDirs(join(out, "runs"));
  writeFileAtomic(join(out, "sweep.json"), JSON.stringify({ cells: cells.map(({ axes, overrides, id, folder, error }) => ({ id, folder, axes, overrides, ...(error ? { error } : {}) })) }, null, 2) + "\n");
}

type Slot = { thread: RunThread; cell?: SweepCell; progress?: RunProgress };

/** Runs every unfinished cell of `cells`; returns the rows of the whole sweep folder and whether it was interrupted. */
export async function runSweep(cells: readonly SweepCell[], opts: SweepOptions): Promise<{ rows: SweepRow[]; interrupted: boolean }> {
  writeSweepFile(opts.out, cells);
  const pending: SweepCell[] = [];
  let skipped = 0;
  for (const cell of cells) {
    const folder = join(opts.out, "runs", cell.folder);
    if (cell.error !== undefined) {
      makeDirs(folder);
      recordFailure(folder, cell.overrides, new SweepError(cell.error), cell.id);
    } else if (finished(folder, cell.id)) skipped++;
    else pending.push(cell);
  }
  const display = new SweepDisplay(cells.length, skipped, cells.filter((c) => c.error).length, opts);
  const slots = Math.max(1, Math.min(opts.concurrency, pending.length));
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return; // a second signal waits for the runs in flight to write their files
    interrupted = true;
    display.note("stopping: the runs in flight write their files as interrupted; run the same command again to resume");
    for (const s of pool) if (s.cell) void s.thread.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const pool: Slot[] = [];
  try {
    for (let i = 0; i < slots; i++) pool.push({ thread: new RunThread() });
    await Promise.all(pool.map(async (slot) => {
      for (let cell = pending.shift(); cell && !interrupted; cell = pending.shift()) {
        const outcome = await runCell(slot, cell, opts, display);
        display.finished(cell, outcome);
      }
    }));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    display.done();
    await Promise.all(pool.map((s) => s.thread.terminate()));
  }
  return { rows: writeSweepSummary(opts.out), interrupted };

  // One run on one thread. A thread that dies takes only its run with it: the run is
  // recorded as failed.
  async function runCell(slot: Slot, cell: SweepCell, o: SweepOptions, d: SweepDisplay): Promise<RunOutcome> {
    const folder = join(o.out, "runs", cell.folder);
    slot.cell = cell;
    slot.progress = undefined;
    d.started(slot);
    const outcome = await slot.thread.train(cell.config!, folder, o.runReports, { onEval: (p) => { slot.progress = p; d.progress(); } });
    d.stopped(slot);
    slot.cell = undefined;
    if (outcome.status !== "crashed") return outcome;
    recordFailure(folder, cell.config!, new Error(outcome.error));
    return { status: "failed", error: outcome.error };
  }
}

// A folder holds a finished run of this config: its config.json has the same id and its
// summary.json says it ran to its end.
function finished(folder: string, id: string): boolean {
  const config = readJson(join(folder, "config.json"));
  const summary = readJson(join(folder, "summary.json")) as Summary | undefined;
  return !existsSync(join(folder, "error.json")) && config !== undefined && recordId(config) === id && summary !== undefined && summary.stopped !== "interrupted";
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** What the run folders of DIR/runs hold. */
export function readRunFolders(dir: string): RunFolder[] {
  const runs = join(dir, "runs");
  if (!existsSync(runs) || !statSync(runs).isDirectory()) throw new OutputError(`${dir} is not a sweep folder: it has no runs/ (make one with \`grok sweep --out ${dir} ...\`)`);
  return readdirSync(runs).sort().flatMap((name): RunFolder[] => {
    const folder = join(runs, name);
    const config = readJson(join(folder, "config.json"));
    const failure = readJson(join(folder, "error.json")) as { error: string; id?: string; config: Record<string, unknown> } | undefined;
    if (!config && !failure) return [];
    const recorded = config ?? failure!.config;
    const metrics = existsSync(join(folder, "metrics.jsonl"))
      ? readFileSync(join(folder, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.trim()).flatMap((l) => { try { return [JSON.parse(l) as Metrics]; } catch { return []; } })
      : undefined;
    return [{
      folder: name,
      id: config ? recordId(config) : failure!.id ?? recordId(failure!.config),
      config: recorded,
      summary: readJson(join(folder, "summary.json")) as Summary | undefined,
      metrics,
      error: failure?.error,
    }];
  });
}

/** Writes DIR/summary.json, summary.csv and report.html from the run folders; returns the rows. */
export function writeSweepSummary(dir: string): SweepRow[] {
  const rows = sweepRows(readRunFolders(dir));
  const tables = gridTables(rows);
  writeFileAtomic(join(dir, "summary.json"), JSON.stringify({ rows, tables }, null, 2) + "\n");
  writeFileAtomic(join(dir, "summary.csv"), rowsToCsv(rows));
  writeFileAtomic(join(dir, "report.html"), renderSweepReport(dir, rows, tables));
  return rows;
}

export const defaultConcurrency = (): number => Math.max(1, availableParallelism());

/** The sweep's progress: runs done of total, the runs in flight, an ETA. */
class SweepDisplay {
  private done_ = 0;
  private failed = 0;
  private readonly t0 = performance.now();
  private readonly inFlight = new Set<Slot>();
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastPlain = -Infinity;
  private readonly stream = process.stderr;

  constructor(private readonly total: number, private readonly skipped: number, private readonly invalid: number, private readonly opts: SweepOptions) {
    this.tty = this.stream.isTTY === true;
    this.failed = invalid;
    const parts = [`${total} runs`, skipped ? `${skipped} already finished (skipped)` : "", invalid ? `${invalid} with an invalid config (recorded)` : ""].filter(Boolean);
    this.note(`sweep -> ${opts.out}: ${parts.join(", ")}; ${Math.min(opts.concurrency, total - skipped - invalid)} at a time`);
  }

  started(slot: Slot): void {
    this.inFlight.add(slot);
    this.progress();
  }

  stopped(slot: Slot): void {
    this.inFlight.delete(slot);
  }

  finished(cell: SweepCell, outcome: RunOutcome): void {
    if (outcome.status === "failed") {
      this.failed++;
      this.note(`failed: ${label(cell)}: ${outcome.error}`);
    } else if (outcome.status === "done") {
      this.done_++;
      const s = outcome.summary;
      const result = s.grokked_step === null ? `did not grok (final test acc ${s.final.test_acc.toFixed(3)})` : `grokked at step ${s.grokked_step}`;
      this.note(`done: ${label(cell)}: ${result}; ${s.steps} steps in ${s.wall_s.toFixed(1)} s`);
    }
    this.progress(true);
  }

  progress(force = false): void {
    if (this.opts.quiet) return;
    const now = performance.now();
    if (this.tty ? !force && now - this.lastDraw < 200 : !force && now - this.lastPlain < 5000) return;
    this.lastDraw = this.lastPlain = now;
    const line = this.status(now);
    this.stream.write(this.tty ? `\r\x1b[K${line.slice(0, (this.stream.columns || 120) - 1)}` : `${line}\n`);
  }

  note(text: string): void {
    if (this.opts.quiet) return;
    this.stream.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  done(): void {
    if (this.tty && !this.opts.quiet) this.stream.write("\r\x1b[K");
  }

  private status(now: number): string {
    // Runs finished in this session so far set the pace (they ran side by side).
    const finished = this.done_ + this.failed - this.invalid;
    const remaining = this.total - this.skipped - this.done_ - this.failed;
    const elapsed = (now - this.t0) / 1000;
    const eta = finished > 0 && remaining > 0 ? ` ETA ${duration((elapsed / finished) * remaining)}` : "";
    const flying = [...this.inFlight].map((s) => `${label(s.cell!)}${s.progress ? ` @${s.progress.step} ${s.progress.test_acc.toFixed(2)}` : ""}`).join(" | ");
    return `runs ${this.skipped + this.done_ + this.failed}/${this.total} (${this.failed} failed), ${duration(elapsed)}${eta}; running: ${flying || "-"}`;
  }
}

export const label = (cell: Pick<SweepCell, "axes" | "folder">): string => Object.entries(cell.axes).map(([k, v]) => (k === "task" ? v : `${k}=${v}`)).join(" ") || cell.folder;

