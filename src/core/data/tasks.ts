// The operations the paper studies (docs/model.md, "Tasks"), by short name, plus any
// polynomial expression in a and b.

import { ExprError, evalExpr, parseExpr, type Expr } from "./expr.js";
import { MersenneTwister } from "./rng.js";
import type { OpSymbol } from "./vocab.js";

export interface Task {
  /** Short name used on the command line and in run folders. */
  readonly name: string;
  /** Human formula, e.g. "a^2+b^2" (all mod p). */
  readonly formula: string;
  readonly op: OpSymbol;
  /** Family of the paper ("elementary", "linear", ...). */
  readonly group: string;
  /** c = f(a, b) mod p, or undefined where the operation is not defined (division by 0). */
  label(a: number, b: number, p: number): number | undefined;
}

export class TaskError extends Error {}

function polynomial(name: string, formula: string, group: string, op: OpSymbol = "="): Task {
  const expr = parseExpr(formula);
  return { name, formula, op, group, label: (a, b, p) => evalExpr(expr, a, b, p) };
}

// The control task: a fixed random table per p, the same for every seed (its own generator
// seed, 'rand' in ASCII), so runs with different seeds learn the same function.
const RANDOM_TABLE_SEED = 0x72616e64;
const randomTables = new Map<number, Int32Array>();

function randomTable(p: number): Int32Array {
  let table = randomTables.get(p);
  if (!table) {
    const rng = new MersenneTwister(RANDOM_TABLE_SEED);
    table = new Int32Array(p * p);
    for (let i = 0; i < p * p; i++) table[i] = rng.below(p);
    randomTables.set(p, table);
  }
  return table;
}

const RANDOM: Task = {
  name: "rand",
  formula: "T[a][b] (a fixed random table)",
  op: "=",
  group: "control",
  label: (a, b, p) => randomTable(p)[a * p + b],
};

function powers(group: string, name: (n: number) => string, formula: (n: number) => string, from: number, to: number): Task[] {
  const tasks: Task[] = [];
  for (let n = from; n <= to; n++) tasks.push(polynomial(name(n), formula(n), group));
  return tasks;
}

/** Every operation the paper studies (and division, which its code has), in the paper's order. */
export const TASKS: readonly Task[] = [
  polynomial("add", "a+b", "elementary", "+"),
  polynomial("sub", "a-b", "elementary", "-"),
  polynomial("mul", "a*b", "elementary", "*"),
  polynomial("div", "a/b", "elementary", "/"),
  polynomial("2a+b", "2a+b", "linear"),
  polynomial("2a-b", "2a-b", "linear"),
  polynomial("2a+3b", "2a+3b", "linear"),
  polynomial("2a-3b", "2a-3b", "linear"),
  polynomial("ab+b", "ab+b", "cross"),
  polynomial("ab-b", "ab-b", "cross"),
  polynomial("ab+a+b", "ab+a+b", "cross"),
  polynomial("a2+b", "a^2+b", "univariate"),
  polynomial("a2-b", "a^2-b", "univariate"),
  polynomial("a3+2b", "a^3+2b", "univariate"),
  polynomial("a3-2b", "a^3-2b", "univariate"),
  ...powers("power-sum", (n) => `a${n}+b${n}`, (n) => `a^${n}+b^${n}`, 2, 7),
  polynomial("a2-b2", "a^2-b^2", "power-sum"),
  polynomial("sum2", "(a+b)^2", "factorizable"),
  polynomial("diff2", "(a-b)^2", "factorizable"),
  polynomial("sum2+sum", "(a+b)^2+a+b", "factorizable"),
  ...powers("factorizable", (n) => `sum${n}`, (n) => `(a+b)^${n}`, 3, 7),
  ...powers("factorizable", (n) => `diff${n}`, (n) => `(a-b)^${n}`, 3, 7),
  polynomial("a2+ab+b2", "a^2+ab+b^2", "non-factorizable"),
  polynomial("a2+ab+b2+a", "a^2+ab+b^2+a", "non-factorizable"),
  polynomial("a3+ab", "a^3+ab", "non-factorizable"),
  polynomial("a3+ab2+b", "a^3+ab^2+b", "non-factorizable"),
  RANDOM,
];

const compact = (s: string): string => s.replace(/\s+/g, "");

/** `s`, or its start, for an error message. */
const short = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** The most tasks one mixture holds. */
export const MAX_TASKS = 16;

/**
 * The task a --task value names: a registry name ("add", "a2+b2"), a registry formula
 * ("a+b" is the elementary addition with its '+' token), or any expression in a and b
 * ("a^2+a*b+b^2", "(a+b)^3/b"), which uses the '=' token.
 */
export function resolveTask(spec: string): Task {
  const key = compact(spec);
  const known = TASKS.find((t) => t.name === key) ?? TASKS.find((t) => compact(t.formula) === key);
  if (known) return known;
  let expr: Expr;
  try {
    expr = parseExpr(key);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    throw new TaskError(`unknown task '${short(spec)}': not a task name (\`grok tasks\` lists them) and not an expression in a and b (${e.message})`);
  }
  return { name: key, formula: key, op: "=", group: "custom", label: (a, b, p) => evalExpr(expr, a, b, p) };
}

/**
 * The tasks a --task value names: one task, or a mixture of several separated by commas
 * ("add,sub,mul", "add,(a+b)^2,a^2+ab+b^2"). A member named twice is an error.
 */
export function resolveTasks(spec: string): Task[] {
  const members = spec.split(",");
  if (members.length > MAX_TASKS) throw new TaskError(`task list '${short(spec)}' has ${members.length} members (a mixture has at most ${MAX_TASKS})`);
  if (members.some((m) => compact(m) === "")) throw new TaskError(`task list '${spec}' has an empty member: separate tasks with single commas, e.g. --task add,sub,mul`);
  const tasks = members.map(resolveTask);
  tasks.forEach((t, i) => {
    const j = tasks.findIndex((u) => u.name === t.name);
    if (j < i) throw new TaskError(`task list '${spec}' names ${t.name} twice ('${members[j]!.trim()}' and '${members[i]!.trim()}'): each task of a mixture once`);
  });
  return tasks;
}

/**
 * Two members of a mixture that compute the same function mod p (e.g. 'a^2+b^2' and
 * 'b^2+a^2') are one task under two names: an error naming both.
 */
export function checkDistinct(tasks: readonly Task[], p: number): void {
  const tables = tasks.map((t) => {
    const out: (number | undefined)[] = [];
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) out.push(t.label(a, b, p));
    return out.join(",");
  });
  tables.forEach((table, i) => {
    const j = tables.indexOf(table);
    if (j < i) throw new TaskError(`tasks '${tasks[j]!.formula}' and '${tasks[i]!.formula}' compute the same function mod ${p}: a mixture needs distinct tasks`);
  });
}
