// A sweep as data: a grid of independent runs over config axes (any config key), each cell
// a resolved config identified by a hash of it, and the summary of finished runs as rows
// and as the paper's Table A.5 (operations x train fractions). No I/O: the hosts (the local
// pool, a queue worker) execute the cells and hand back what the run folders hold.

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { ConfigError, DEFAULTS, isConfigKey, resolveConfig, type RunConfig } from "./config.js";
import { resolveTask, TaskError, TASKS } from "./data/tasks.js";
import type { Metrics, Summary } from "./train.js";

export class SweepError extends Error {}

/** The grid: keys fixed for every run, and axes whose values multiply. Values as on the command line. */
export interface SweepSpec {
  fixed: Record<string, string | boolean>;
  axes: { key: string; values: string[] }[];
}

/** One run of a sweep: its axis values, its config (or why it has none), its id and folder name. */
export interface SweepCell {
  axes: Record<string, string>;
  overrides: Record<string, string | boolean>;
  config?: RunConfig;
  /** The one-line error of a cell whose config is invalid: it is recorded, never run. */
  error?: string;
  id: string;
  folder: string;
}

const flag = (key: string): string => key.replace(/_/g, "-");

/**
 * The values of one axis as written inline: comma-separated, with a mixture in braces
 * ("add,{add,sub,mul}" is add alone and the mixture add,sub,mul), or a numeric range
 * "from:to:step" ("0.3:0.9:0.1").
 */
export function axisValues(key: string, raw: string): string[] {
  const range = /^\s*(-?[\d.e+-]+)\s*:\s*(-?[\d.e+-]+)\s*:\s*([\d.e+-]+)\s*$/.exec(raw);
  if (range && typeof DEFAULTS[key as keyof RunConfig] === "number") return rangeValues(key, Number(range[1]), Number(range[2]), Number(range[3]));
  const values: string[] = [];
  let depth = 0, current = "";
  for (const ch of raw) {
    if (ch === "{") depth++;
    else if (ch === "}") depth--;
    if (depth < 0) throw new SweepError(`--${flag(key)} '${raw}': a '}' without its '{'`);
    if (ch === "," && depth === 0) {
      values.push(current);
      current = "";
    } else if (!((ch === "{" && depth === 1) || (ch === "}" && depth === 0))) current += ch;
  }
  if (depth !== 0) throw new SweepError(`--${flag(key)} '${raw}': a '{' without its '}'`);
  values.push(current);
  const trimmed = values.map((v) => v.trim());
  if (trimmed.some((v) => v === "")) throw new SweepError(`--${flag(key)} '${raw}' has an empty value`);
  return trimmed;
}

function rangeValues(key: string, from: number, to: number, step: number): string[] {
  if (![from, to, step].every(Number.isFinite) || step <= 0 || to < from) throw new SweepError(`--${flag(key)} range ${from}:${to}:${step}: need from <= to and a step > 0`);
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  if (count > 1000) throw new SweepError(`--${flag(key)} range ${from}:${to}:${step} has ${count} values (at most 1000)`);
  // Rounded to 10 significant digits: 0.3 + 3 * 0.1 is 0.6, not 0.6000000000000001.
  return Array.from({ length: count }, (_, i) => String(Number((from + i * step).toPrecision(10))));
}

/** A spec from command-line flags: a flag with several values is an axis, the rest are fixed. */
export function specFromFlags(flags: Record<string, string | boolean>): SweepSpec {
  const spec: SweepSpec = { fixed: {}, axes: [] };
  for (const [key, raw] of Object.entries(flags)) {
    if (!isConfigKey(key)) throw new SweepError(`unknown option --${flag(key)} (a sweep takes any config key: ${Object.keys(DEFAULTS).map((k) => "--" + flag(k)).join(" ")})`);
    if (typeof raw === "boolean") spec.fixed[key] = raw;
    else addAxis(spec, key, axisValues(key, raw));
  }
  return spec;
}

/**
 * A spec from a parsed JSON or YAML document: a flat object of config keys. A list is an
 * axis (a mixture inside it: a nested list, or a comma-separated string); a "from:to:step"
 * string a numeric axis; anything else is fixed.
 */
export function specFromDocument(doc: unknown): SweepSpec {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new SweepError("a sweep file holds one object of config keys, e.g. {\"task\": [\"add\", \"sub\"], \"frac\": \"0.3:0.9:0.1\", \"seed\": [0, 1, 2]}");
  const spec: SweepSpec = { fixed: {}, axes: [] };
  for (const [key, value] of Object.entries(doc)) {
    if (!isConfigKey(key)) throw new SweepError(`unknown key '${key}' in the sweep file (known: ${Object.keys(DEFAULTS).join(", ")})`);
    if (Array.isArray(value)) addAxis(spec, key, value.map((v) => scalar(key, Array.isArray(v) ? v.map((x) => scalar(key, x)).join(",") : v)));
    else if (typeof value === "string" && typeof DEFAULTS[key] === "number" && value.includes(":")) addAxis(spec, key, axisValues(key, value));
    else spec.fixed[key] = typeof value === "boolean" ? value : scalar(key, value);
  }
  return spec;
}

function scalar(key: string, v: unknown): string {
  if (typeof v === "string" || typeof v === "number") return String(v);
  if (typeof v === "boolean") return String(v);
  throw new SweepError(`'${key}': ${JSON.stringify(v)} is not a value (a string, a number or a list of them)`);
}

function addAxis(spec: SweepSpec, key: string, values: string[]): void {
  if (new Set(values).size !== values.length) throw new SweepError(`--${flag(key)} lists a value twice: ${values.join(", ")}`);
  if (values.length === 1) spec.fixed[key] = values[0]!;
  else spec.axes.push({ key, values });
}

/** `flags` over `file`: a key given on the command line replaces the file's. */
export function mergeSpecs(file: SweepSpec, flags: SweepSpec): SweepSpec {
  const given = new Set([...Object.keys(flags.fixed), ...flags.axes.map((a) => a.key)]);
  return {
    fixed: { ...Object.fromEntries(Object.entries(file.fixed).filter(([k]) => !given.has(k))), ...flags.fixed },
    axes: [...file.axes.filter((a) => !given.has(a.key)), ...flags.axes],
  };
}

const MAX_CELLS = 10000;

/** Every cell of the grid, the first axis slowest. A cell with an invalid config carries its error. */
export function expandSweep(spec: SweepSpec): SweepCell[] {
  const total = spec.axes.reduce((n, a) => n * a.values.length, 1);
  if (total > MAX_CELLS) throw new SweepError(`the grid has ${total} runs (at most ${MAX_CELLS}): narrow an axis`);
  let combos: Record<string, string>[] = [{}];
  for (const { key, values } of spec.axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return combos.map((axes) => sweepCell(axes, { ...spec.fixed, ...axes }));
}

/** One cell: the run `overrides` make, named by `axes`; an invalid config is recorded in it. */
export function sweepCell(axes: Record<string, string>, overrides: Record<string, string | boolean>): SweepCell {
  try {
    const config = resolveConfig(overrides);
    const id = configHash(config);
    return { axes, overrides, config, id, folder: folderName(axes, id) };
  } catch (e) {
    if (!(e instanceof ConfigError || e instanceof TaskError)) throw e;
    const id = hashOf("invalid " + canonical(overrides));
    return { axes, overrides, error: e.message, id, folder: folderName(axes, id) };
  }
}

const canonical = (o: object): string => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
const hashOf = (text: string): string => bytesToHex(sha256(utf8ToBytes(text))).slice(0, 16);

/** The id of a run: a hash of its resolved config (key order does not matter). */
export function configHash(config: RunConfig): string {
  return hashOf(canonical(config));
}

/** The id of a whole grid: a hash of its cells' ids. */
export function sweepId(cells: readonly SweepCell[]): string {
  return hashOf(cells.map((c) => c.id).join(","));
}

/** A readable, unique folder name: the axis values (the task's alone), then the id. */
export function folderName(axes: Record<string, string>, id: string): string {
  const slug = Object.entries(axes).map(([k, v]) => (k === "task" ? taskSlug(v) : `${k}${v}`)).join("_").replace(/[^A-Za-z0-9+\-.=_]+/g, "_").slice(0, 60);
  return `${slug ? `${slug}-` : ""}${id.slice(0, 8)}`;
}

/**
 * A task list in a folder name: each member's registry name ("(a+b)^2" is sum2), or the
 * expression with only letters, digits and + - kept; members joined by "_".
 */
export function taskSlug(spec: string): string {
  return spec.split(",").map((m) => slugOf(m).slug).join("_");
}

// A member's slug, and whether it names a registry task (whose names are unique as they are).
function slugOf(member: string): { slug: string; registry: boolean } {
  try {
    const task = resolveTask(member);
    return { slug: task.name.replace(/[^A-Za-z0-9+-]+/g, ""), registry: TASKS.includes(task) };
  } catch {
    return { slug: member.replace(/[^A-Za-z0-9+-]+/g, ""), registry: false };
  }
}

/**
 * The default folder of a run: <tasks>_p<p>_r<frac>_s<seed>, with a short hash of the task
 * when a member is an expression of its own (its slug may match another's) or the name had
 * to be cut.
 */
export function runFolderName(config: RunConfig): string {
  const slug = taskSlug(config.task);
  const unique = config.task.split(",").every((m) => slugOf(m).registry) && slug.length <= 40;
  return `${unique ? slug : `${slug.slice(0, 40)}-${hashOf(config.task).slice(0, 6)}`}_p${config.p}_r${config.frac}_s${config.seed}`;
}

/** One run of a sweep, as its folder records it: what it is and how it ended. */
export interface SweepRow {
  folder: string;
  id: string;
  /** The config keys that vary across the sweep, with this run's values. */
  axes: Record<string, string>;
  status: "done" | "failed" | "interrupted" | "pending";
  memorized: boolean | null;
  grokked: boolean | null;
  memorized_step: number | null;
  grokked_step: number | null;
  best_test_acc: number | null;
  final_test_acc: number | null;
  ffd_E: number | null;
  fcr_E: number | null;
  ffd_L: number | null;
  fcr_L: number | null;
  steps: number | null;
  error: string | null;
}

/** What a run folder holds, read by the host. */
export interface RunFolder {
  folder: string;
  id: string;
  /** The resolved config (config.json), or the overrides of a run that never started (error.json). */
  config: Record<string, unknown>;
  summary?: Summary;
  metrics?: Metrics[];
  error?: string;
}

// A config value as a string (a key a config does not give has its default).
const valueOf = (config: Record<string, unknown>, key: string): string => String(config[key] ?? DEFAULTS[key as keyof RunConfig]);

/** The config keys whose values differ between runs (the sweep's axes), in config order. */
export function varyingKeys(configs: readonly Record<string, unknown>[]): string[] {
  return Object.keys(DEFAULTS).filter((k) => new Set(configs.map((c) => valueOf(c, k))).size > 1);
}

/**
 * The id of a run from its recorded config (config.json: the config and what it resolved
 * to); a key it lacks (recorded by an older grokwasm) has its default.
 */
export function recordId(record: Record<string, unknown>): string {
  return configHash(Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, k in record ? record[k] : DEFAULTS[k as keyof RunConfig]])) as unknown as RunConfig);
}

/**
 * The rows of a sweep from its run folders, ordered by their axis values (tasks in registry
 * order, numbers ascending), so a summary is the same however it was made.
 */
export function sweepRows(folders: readonly RunFolder[]): SweepRow[] {
  const keys = varyingKeys(folders.map((f) => f.config));
  const rows = folders.map((f): SweepRow => {
    const s = f.summary;
    const finished = s !== undefined && s.stopped !== "interrupted";
    const best = f.metrics?.length ? Math.max(...f.metrics.map((m) => m.test_acc)) : null;
    const last = s?.final;
    return {
      folder: f.folder,
      id: f.id,
      axes: Object.fromEntries(keys.map((k) => [k, valueOf(f.config, k)])),
      status: f.error !== undefined ? "failed" : finished ? "done" : s ? "interrupted" : "pending",
      memorized: finished ? s.memorized_step !== null : null,
      grokked: finished ? s.grokked_step !== null : null,
      memorized_step: s?.memorized_step ?? null,
      grokked_step: s?.grokked_step ?? null,
      best_test_acc: best,
      final_test_acc: last?.test_acc ?? null,
      ffd_E: last?.ffd_E ?? null, fcr_E: last?.fcr_E ?? null, ffd_L: last?.ffd_L ?? null, fcr_L: last?.fcr_L ?? null,
      steps: s?.steps ?? null,
      error: f.error ?? null,
    };
  });
  return rows.sort((a, b) => compareAxes(keys, a.axes, b.axes) || (a.folder < b.folder ? -1 : 1));
}

function compareAxes(keys: readonly string[], a: Record<string, string>, b: Record<string, string>): number {
  for (const k of keys) {
    const c = compareValues(k, a[k]!, b[k]!);
    if (c !== 0) return c;
  }
  return 0;
}

const taskRank = (spec: string): number => {
  const i = TASKS.findIndex((t) => t.name === spec);
  return i < 0 ? TASKS.length : i;
};

function compareValues(key: string, a: string, b: string): number {
  if (key === "task") return taskRank(a) - taskRank(b) || (a < b ? -1 : a > b ? 1 : 0);
  const x = Number(a), y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

const COLUMNS: (keyof SweepRow)[] = ["status", "memorized", "grokked", "memorized_step", "grokked_step", "best_test_acc", "final_test_acc", "ffd_E", "fcr_E", "ffd_L", "fcr_L", "steps", "error", "folder", "id"];

/** summary.csv: the axes, then the outcome columns. */
export function rowsToCsv(rows: readonly SweepRow[]): string {
  const axes = rows[0] ? Object.keys(rows[0].axes) : [];
  const cell = (v: unknown): string => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [[...axes, ...COLUMNS].join(","), ...rows.map((r) => [...axes.map((a) => r.axes[a]), ...COLUMNS.map((c) => r[c])].map(cell).join(","))];
  return lines.join("\n") + "\n";
}

/** One cell of Table A.5: the runs of one operation at one fraction (the seeds). */
export interface GridCell {
  runs: number;
  grokked: number;
  /** The median grokking step over the seeds, when every seed grokked. */
  median_grokked_step: number | null;
  /** The mean over seeds of the best test accuracy. */
  best_test_acc: number | null;
}

export interface GridTable {
  /** The values of the other axes this table holds fixed (e.g. lr), if any. */
  fixed: Record<string, string>;
  rowKey: string;
  colKey: string;
  rows: string[];
  cols: string[];
  cells: (GridCell | null)[][];
}

/**
 * The paper's Table A.5 layout: operations (rows) x train fractions (columns), seeds pooled in
 * each cell; one table per combination of any other axes.
 */
export function gridTables(rows: readonly SweepRow[], rowKey = "task", colKey = "frac"): GridTable[] {
  if (rows.length === 0) return [];
  const keys = Object.keys(rows[0]!.axes);
  const others = keys.filter((k) => k !== rowKey && k !== colKey && k !== "seed");
  const valuesOf = (k: string, rs: readonly SweepRow[]): string[] => [...new Set(rs.map((r) => r.axes[k] ?? ""))].sort((a, b) => compareValues(k, a, b));
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const g = JSON.stringify(others.map((k) => r.axes[k]));
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const rowValues = keys.includes(rowKey) ? valuesOf(rowKey, rs) : [""];
    const colValues = keys.includes(colKey) ? valuesOf(colKey, rs) : [""];
    const cells = rowValues.map((rv) => colValues.map((cv) => gridCell(rs.filter((r) => (r.axes[rowKey] ?? "") === rv && (r.axes[colKey] ?? "") === cv))));
    return { fixed: Object.fromEntries(others.map((k) => [k, rs[0]!.axes[k]!])), rowKey, colKey, rows: rowValues, cols: colValues, cells };
  });
}

function gridCell(rs: readonly SweepRow[]): GridCell | null {
  const finished = rs.filter((r) => r.status === "done");
  if (finished.length === 0) return null;
  const steps = finished.flatMap((r) => (r.grokked_step === null ? [] : [r.grokked_step])).sort((a, b) => a - b);
  const all = steps.length === finished.length;
  const accs = finished.flatMap((r) => (r.best_test_acc === null ? [] : [r.best_test_acc]));
  const mid = steps.length / 2;
  return {
    runs: finished.length,
    grokked: steps.length,
    median_grokked_step: all ? (steps.length % 2 ? steps[Math.floor(mid)]! : (steps[mid - 1]! + steps[mid]!) / 2) : null,
    best_test_acc: accs.length ? accs.reduce((s, x) => s + x, 0) / accs.length : null,
  };
}
