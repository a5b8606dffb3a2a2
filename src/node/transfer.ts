// `grok transfer`: the sources pre-grokked once (a sweep in DIR/sources, or given run
// folders), then the grid's runs as sweeps in DIR/grid, one round per train fraction for the
// cells that have not grokked yet. Every run is a sweep cell: a finished one is skipped and
// an interrupted one goes on from its checkpoint, so the whole grid resumes. At the end:
// DIR/transfer.json, transfer.csv and report.html.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SweepCell } from "../core/sweep.js";
import type { Summary } from "../core/train.js";
import { cellRun, remainingFracs, sourceRun, transferCsv, transferRow, type Attempt, type Curve, type TransferPlan, type TransferRow } from "../core/transfer.js";
import { writeFileAtomic } from "./files.js";
import { readMetrics } from "./run-files.js";
import { runSweep, type SweepOptions } from "./sweep.js";

export interface TransferOptions extends Omit<SweepOptions, "out"> {
  out: string;
  /** Source run folders given on the command line, by task (not trained again). */
  given: Record<string, string>;
}

/** Runs (or resumes) the grid; returns its rows and whether it was interrupted. */
export async function runTransfer(plan: TransferPlan, opts: TransferOptions): Promise<{ rows: TransferRow[]; interrupted: boolean }> {
  const sweep = (out: string): SweepOptions => ({ out, concurrency: opts.concurrency, runReports: opts.runReports, quiet: opts.quiet });
  // 1. The sources: pre-grokked at r = 0.3, unless given.
  const toTrain = plan.sources.filter((s) => !(s in opts.given)).map((s) => [s, sourceRun(plan, s)] as const);
  let interrupted = false;
  if (toTrain.length > 0) interrupted = (await runSweep(toTrain.map(([, c]) => c), sweep(join(opts.out, "sources")))).interrupted;
  const sourceDirs = new Map<string, string>([...Object.entries(opts.given), ...toTrain.map(([s, c]) => [s, join(opts.out, "sources", "runs", c.folder)] as [string, string])]);
  const sourceProblem = new Map<string, string>();
  for (const [source, dir] of sourceDirs) {
    const summary = readSummary(dir);
    if (!summary) sourceProblem.set(source, `source ${source} (${dir}) has not finished`);
    else if (summary.grokked_step === null) sourceProblem.set(source, `source ${source} did not grok at r = ${summary.frac} within ${summary.steps} steps (${dir})`);
  }
  // 2. Round by round: every cell that has neither grokked nor tried every fraction runs at its next one.
  const attempts = new Map(plan.cells.map((c) => [c, [] as Attempt[]]));
  const runOf = new Map<TransferPlan["cells"][number], SweepCell[]>();
  for (let round = 0; !interrupted; round++) {
    const due = plan.cells.flatMap((cell) => {
      if (cell.source && sourceProblem.has(cell.source)) return [];
      const next = remainingFracs(plan, attempts.get(cell)!)[0];
      if (next === undefined) return [];
      const run = cellRun(plan, cell, next, cell.source ? sourceDirs.get(cell.source)! : null);
      runOf.set(cell, [...(runOf.get(cell) ?? []), run]);
      return [[cell, run] as const];
    });
    if (due.length === 0) break;
    interrupted = (await runSweep(due.map(([, run]) => run), sweep(join(opts.out, "grid")))).interrupted;
    for (const [cell, run] of due) attempts.get(cell)!.push(attemptOf(join(opts.out, "grid", "runs", run.folder), run));
  }
  const rows = plan.cells.map((cell) => {
    const problem = cell.source ? sourceProblem.get(cell.source) : undefined;
    const row = transferRow(plan, cell, attempts.get(cell)!);
    return problem ? { ...row, result: "✗ (no source)", attempts: [{ frac: "", folder: "", status: "failed" as const, grokked_step: null, best_test_acc: null, error: problem }] } : row;
  });
  await writeTransfer(opts.out, plan, rows);
  return { rows, interrupted };
}

function readSummary(dir: string): Summary | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Summary;
    return s.stopped === "interrupted" ? undefined : s;
  } catch {
    return undefined;
  }
}

// What one run of a cell came to.
function attemptOf(folder: string, run: SweepCell): Attempt {
  const summary = readSummary(folder);
  const metrics = existsSync(join(folder, "metrics.jsonl")) ? readMetrics(join(folder, "metrics.jsonl")) : [];
  const error = existsSync(join(folder, "error.json")) ? (JSON.parse(readFileSync(join(folder, "error.json"), "utf8")) as { error: string }).error : run.error ?? null;
  return {
    frac: run.axes.frac!,
    folder: run.folder,
    status: error !== null ? "failed" : summary ? "done" : metrics.length ? "interrupted" : "pending",
    grokked_step: summary?.grokked_step ?? null,
    best_test_acc: metrics.length ? Math.max(...metrics.map((m) => m.test_acc)) : null,
    error,
  };
}

async function writeTransfer(out: string, plan: TransferPlan, rows: TransferRow[]): Promise<void> {
  writeFileAtomic(join(out, "transfer.json"), JSON.stringify({ grid: plan.grid, sources: plan.sources, targets: plan.targets, fracs: plan.fracs, base: plan.base, rows }, null, 2) + "\n");
  writeFileAtomic(join(out, "transfer.csv"), transferCsv(rows));
  // The curves of each cell's first attempt: at the first fraction every column ran.
  const curves = new Map<TransferRow, Curve>(rows.flatMap((r) => {
    const first = r.attempts[0];
    if (!first?.folder) return [];
    const path = join(out, "grid", "runs", first.folder, "metrics.jsonl");
    return existsSync(path) ? [[r, readMetrics(path).map(({ step, test_acc }) => ({ step, test_acc }))] as [TransferRow, Curve]] : [];
  }));
  const { renderTransferReport } = await import("../report/transfer.js"); // vega: loaded when drawing
  writeFileAtomic(join(out, "report.html"), await renderTransferReport(plan, rows, curves));
}
