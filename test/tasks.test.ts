// The task registry and the expression parser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { evalExpr, parseExpr, ExprError } from "../src/core/data/expr.js";
import { resolveTask, TaskError, TASKS } from "../src/core/data/tasks.js";

const p = 97;
const mod = (x: number): number => ((x % p) + p) % p;
const pow = (x: number, n: number): number => {
  let r = 1;
  for (let i = 0; i < n; i++) r = mod(r * x);
  return r;
};
const inv = (x: number): number => pow(x, p - 2);

// Each task written out directly in JavaScript, as an independent check of the registry.
const DIRECT: Record<string, (a: number, b: number) => number | undefined> = {
  add: (a, b) => mod(a + b), sub: (a, b) => mod(a - b), mul: (a, b) => mod(a * b), div: (a, b) => (b === 0 ? undefined : mod(a * inv(b))),
  "2a+b": (a, b) => mod(2 * a + b), "2a-b": (a, b) => mod(2 * a - b), "2a+3b": (a, b) => mod(2 * a + 3 * b), "2a-3b": (a, b) => mod(2 * a - 3 * b),
  "ab+b": (a, b) => mod(a * b + b), "ab-b": (a, b) => mod(a * b - b), "ab+a+b": (a, b) => mod(a * b + a + b),
  "a2+b": (a, b) => mod(pow(a, 2) + b), "a2-b": (a, b) => mod(pow(a, 2) - b), "a3+2b": (a, b) => mod(pow(a, 3) + 2 * b), "a3-2b": (a, b) => mod(pow(a, 3) - 2 * b),
  "a2-b2": (a, b) => mod(pow(a, 2) - pow(b, 2)),
  sum2: (a, b) => pow(mod(a + b), 2), diff2: (a, b) => pow(mod(a - b), 2), "sum2+sum": (a, b) => mod(pow(mod(a + b), 2) + a + b),
  "a2+ab+b2": (a, b) => mod(pow(a, 2) + a * b + pow(b, 2)), "a2+ab+b2+a": (a, b) => mod(pow(a, 2) + a * b + pow(b, 2) + a),
  "a3+ab": (a, b) => mod(pow(a, 3) + a * b), "a3+ab2+b": (a, b) => mod(pow(a, 3) + mod(a * pow(b, 2)) + b),
};
for (let n = 2; n <= 7; n++) {
  DIRECT[`a${n}+b${n}`] = (a, b) => mod(pow(a, n) + pow(b, n));
  if (n >= 3) {
    DIRECT[`sum${n}`] = (a, b) => pow(mod(a + b), n);
    DIRECT[`diff${n}`] = (a, b) => pow(mod(a - b), n);
  }
}

test("every registry task computes its formula mod p on all pairs", () => {
  for (const task of TASKS) {
    if (task.name === "rand") continue;
    const direct = DIRECT[task.name];
    assert.ok(direct, `no direct formula for ${task.name}`);
    for (let a = 0; a < p; a += 3) for (let b = 0; b < p; b += 5) assert.equal(task.label(a, b, p), direct(a, b), `${task.name}(${a}, ${b})`);
  }
});

test("the registry has every operation family of the paper, with the right operator tokens", () => {
  const groups = new Set(TASKS.map((t) => t.group));
  for (const g of ["elementary", "linear", "cross", "univariate", "power-sum", "factorizable", "non-factorizable", "control"]) assert.ok(groups.has(g), g);
  assert.deepEqual(["add", "sub", "mul", "div"].map((n) => resolveTask(n).op), ["+", "-", "*", "/"]);
  assert.ok(TASKS.filter((t) => t.group !== "elementary").every((t) => t.op === "="));
  assert.equal(new Set(TASKS.map((t) => t.name)).size, TASKS.length, "names are unique");
});

test("the random table is fixed per p (independent of anything else) and covers [0, p)", () => {
  const rand = resolveTask("rand");
  const first = Array.from({ length: 50 }, (_, i) => rand.label(i % 11, (i * 7) % 11, 11));
  assert.deepEqual(Array.from({ length: 50 }, (_, i) => rand.label(i % 11, (i * 7) % 11, 11)), first);
  const values = new Set<number>();
  for (let a = 0; a < 11; a++) for (let b = 0; b < 11; b++) values.add(rand.label(a, b, 11)!);
  assert.equal(values.size, 11);
});

test("resolveTask takes names, registry formulas and free expressions", () => {
  assert.equal(resolveTask("a + b").name, "add");
  assert.equal(resolveTask("a^2+b^2").name, "a2+b2");
  const custom = resolveTask("a^2 + 3*a*b - b");
  assert.equal(custom.op, "=");
  assert.equal(custom.group, "custom");
  assert.equal(custom.label(5, 7, 11), (25 + 105 - 7) % 11);
});

test("the parser follows precedence, implicit products, unary minus, ** and modular inverse", () => {
  const at = (src: string, a: number, b: number, q = 13): number | undefined => evalExpr(parseExpr(src), a, b, q);
  assert.equal(at("2+3*4", 0, 0), 14 % 13);
  assert.equal(at("2a^2", 3, 0), 18 % 13);
  assert.equal(at("-a^2", 3, 0), 13 - 9);
  assert.equal(at("(a+b)(a-b)", 5, 3), 16 % 13);
  assert.equal(at("a**3", 2, 0), 8);
  assert.equal(at("a/b", 1, 2), 7, "2 * 7 = 14 = 1 mod 13");
  assert.equal(at("a/b", 1, 0), undefined, "division by zero is undefined");
  assert.equal(at("a - b - 1", 0, 0), 12, "left associative: (0-0)-1, not 0-(0-1)");
});

test("parse errors name the expression, the position and what was expected", () => {
  assert.throws(() => parseExpr("a+"), (e: Error) => e instanceof ExprError && /position 3.*found the end/.test(e.message));
  assert.throws(() => parseExpr("a+c"), /expected a number, a, b or '\(' at position 3, found 'c'/);
  assert.throws(() => parseExpr("(a+b"), /expected '\)'/);
  assert.throws(() => parseExpr("a^b"), /non-negative integer exponent/);
  assert.throws(() => resolveTask("foo"), (e: Error) => e instanceof TaskError && /unknown task 'foo'/.test(e.message));
});
