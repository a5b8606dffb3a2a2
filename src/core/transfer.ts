// The paper's transfer experiments as data (docs/model.md, "Transfer of pre-grokked
// modules"): sources pre-grokked at r = 0.3, then for each target a column per source and
// method (PG-E: the source's embedding loaded and frozen; PG-T: its attention and MLP loaded
// and frozen) and one trained from scratch. The elementary grid (Fig. 2) runs one fraction;
// Table 1 searches, per cell, the smallest train fraction at which the target groks, in
// ascending order, stopping at the first success. Every run is a sweep cell, so a grid
// resumes and fans out like a sweep. No I/O.

import { sweepCell, SweepError, type SweepCell, type SweepRow } from "./sweep.js";
import type { Metrics } from "./train.js";

export type Method = "PG-E" | "PG-T" | "scratch";

/** What a method loads from the source and freezes. */
export const METHODS: Readonly<Record<Exclude<Method, "scratch">, { load: string; freeze: string }>> = {
  "PG-E": { load: "embed", freeze: "embed" },
  "PG-T": { load: "transformer", freeze: "transformer" },
};

/** The train fraction the sources are pre-grokked at (the paper's). */
export const SOURCE_FRAC = "0.3";

export const GRIDS = {
  /** Fig. 2: every elementary source to every elementary target, at one fraction. */
  elementary: { sources: ["add", "sub", "mul"], targets: ["add", "sub", "mul"], search: false },
  /** Table 1: the 16 downstream polynomials; each cell the smallest r in 0.3..0.9 that groks. */
  table1: {
    sources: ["add", "mul", "sub"],
    targets: ["2a+b", "2a-b", "2a+3b", "2a-3b", "ab+b", "ab-b", "sum2", "diff2", "sum2+sum", "a2+ab+b2", "a2-b", "a2-b2", "sum3", "diff3", "a3+ab", "a3+ab2+b"],
    search: true,
  },
} as const;

export type GridName = keyof typeof GRIDS;

/** One column entry of the table: a target trained one way. */
export interface TransferCell {
  target: string;
  method: Method;
  /** The source task (null: from scratch). */
  source: string | null;
}

export interface TransferPlan {
  grid: GridName;
  sources: string[];
  targets: string[];
  /** The fractions tried, in order (one for the elementary grid). */
  fracs: string[];
  /** Config keys every run shares (p, model sizes, seed, steps, ...). */
  base: Record<string, string | boolean>;
  /** Steps the sources may take to grok, and the fraction they train on (the paper's: 0.3). */
  sourceSteps: string;
  sourceFrac: string;
  cells: TransferCell[];
}

/** The grid with its sources and targets narrowed, and the fractions to try. */
export function transferPlan(grid: string, narrow: { sources?: string[]; targets?: string[]; fracs?: string[] }, base: Record<string, string | boolean>, sourceSteps: string, sourceFrac = SOURCE_FRAC): TransferPlan {
  if (!(grid in GRIDS)) throw new SweepError(`--grid must be one of ${Object.keys(GRIDS).join(", ")}, got '${grid}'`);
  const g = GRIDS[grid as GridName];
  const pick = (given: string[] | undefined, all: readonly string[], what: string): string[] => {
    if (!given) return [...all];
    const unknown = given.find((x) => !all.includes(x));
    if (unknown !== undefined) throw new SweepError(`--${what} '${unknown}' is not in the ${grid} grid (its ${what}: ${all.join(", ")})`);
    return given;
  };
  const sources = pick(narrow.sources, g.sources, "sources"), targets = pick(narrow.targets, g.targets, "targets");
  const fracs = narrow.fracs ?? (g.search ? ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"] : [SOURCE_FRAC]);
  if (!g.search && fracs.length !== 1) throw new SweepError(`the ${grid} grid runs one fraction, got --fracs ${fracs.join(",")}`);
  const cells = targets.flatMap((target) => [
    ...sources.flatMap((source) => (["PG-E", "PG-T"] as const).map((method) => ({ target, method, source }))),
    { target, method: "scratch" as const, source: null },
  ]);
  return { grid: grid as GridName, sources, targets, fracs, base, sourceSteps, sourceFrac, cells };
}

/** The run that pre-groks a source (at r = 0.3 in the paper). */
export function sourceRun(plan: TransferPlan, source: string): SweepCell {
  return sweepCell({ task: source }, { ...plan.base, task: source, frac: plan.sourceFrac, until_grokked: true, steps: plan.sourceSteps });
}

/** The run of one cell at one fraction, its source's modules loaded from `sourceDir`. */
export function cellRun(plan: TransferPlan, cell: TransferCell, frac: string, sourceDir: string | null): SweepCell {
  const method = cell.method === "scratch" ? {} : { init_from: sourceDir!, ...METHODS[cell.method] };
  const axes = { task: cell.target, method: cell.source ? `${cell.source}-${cell.method}` : "scratch", frac };
  return sweepCell(axes, { ...plan.base, task: cell.target, frac, until_grokked: true, ...method });
}

/** One try of a cell at one fraction, as its run folder tells. */
export interface Attempt {
  frac: string;
  folder: string;
  status: SweepRow["status"];
  grokked_step: number | null;
  best_test_acc: number | null;
  error: string | null;
}

/** A cell's outcome: grokked at the first fraction tried (✓), at a later one (r = ...), or at none (✗). */
export interface TransferRow extends TransferCell {
  result: string;
  grokked_frac: string | null;
  grokked_step: number | null;
  attempts: Attempt[];
}

/** The fractions a cell still has to try, given its attempts: none once one grokked or all were tried. */
export function remainingFracs(plan: TransferPlan, attempts: readonly Attempt[]): string[] {
  if (attempts.some((a) => a.grokked_step !== null)) return [];
  return plan.fracs.filter((f) => !attempts.some((a) => a.frac === f && a.status !== "pending" && a.status !== "interrupted"));
}

export function transferRow(plan: TransferPlan, cell: TransferCell, attempts: Attempt[]): TransferRow {
  const hit = attempts.find((a) => a.grokked_step !== null);
  const done = remainingFracs(plan, attempts).length === 0;
  const result = hit ? (hit.frac === plan.fracs[0] ? "✓" : `r = ${hit.frac}`) : done ? "✗" : "…";
  return { ...cell, result, grokked_frac: hit?.frac ?? null, grokked_step: hit?.grokked_step ?? null, attempts };
}

/** transfer.csv: one row per cell. */
export function transferCsv(rows: readonly TransferRow[]): string {
  const head = "target,method,source,result,grokked_frac,grokked_step,fracs_tried,best_test_acc_per_frac";
  const line = (r: TransferRow): string => [r.target, r.method, r.source ?? "", r.result, r.grokked_frac ?? "", r.grokked_step ?? "",
    r.attempts.map((a) => a.frac).join(" "), r.attempts.map((a) => (a.best_test_acc === null ? "" : a.best_test_acc.toFixed(4))).join(" ")].join(",");
  return [head, ...rows.map(line)].join("\n") + "\n";
}

/** The test-accuracy curve of a run, for the page's charts. */
export type Curve = Pick<Metrics, "step" | "test_acc">[];
