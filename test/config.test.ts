// Config resolution: defaults, overrides, and one clear message per bad value.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, DEFAULTS, isPrime, resolveConfig } from "../src/core/config.js";

test("the defaults are the paper's setup", () => {
  assert.deepEqual(
    { task: DEFAULTS.task, p: DEFAULTS.p, frac: DEFAULTS.frac, lr: DEFAULTS.lr, wd: DEFAULTS.weight_decay, betas: [DEFAULTS.beta1, DEFAULTS.beta2], d: [DEFAULTS.d_model, DEFAULTS.n_heads, DEFAULTS.d_head, DEFAULTS.d_mlp] },
    { task: "add", p: 97, frac: 0.3, lr: 1e-3, wd: 1.0, betas: [0.9, 0.98], d: [128, 4, 32, 512] },
  );
});

test("overrides are parsed by the type of their default", () => {
  const c = resolveConfig({ p: "113", frac: "0.5", until_grokked: true, task: "a^2+b" });
  assert.equal(c.p, 113);
  assert.equal(c.frac, 0.5);
  assert.equal(c.until_grokked, true);
  assert.equal(c.task, "a^2+b");
});

test("bad values are rejected with the value and what is allowed", () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ p: "91" }, /--p must be a prime between 3 and 257, got 91 \(not prime\)/],
    [{ p: "263" }, /got 263 \(out of range\)/],
    [{ p: "x" }, /--p must be a decimal integer, got 'x'/],
    [{ p: "0x0b" }, /--p must be a decimal integer, got '0x0b'/],
    [{ p: " 11 " }, /--p must be a decimal integer, got ' 11 '/],
    [{ p: "1.1e1" }, /--p must be a decimal integer, got '1.1e1'/],
    [{ lr: "0x1" }, /--lr must be a decimal number, got '0x1'/],
    [{ lr: "1e999" }, /--lr must be a finite number, got '1e999'/],
    [{ frac: "1" }, /--frac must be in \(0, 1\), got 1/],
    [{ frac: "0" }, /--frac must be in \(0, 1\)/],
    [{ steps: "0" }, /--steps must be an integer >= 1, got 0/],
    [{ steps: "2.5" }, /--steps must be a decimal integer, got .2.5./],
    [{ task: "nope" }, /unknown task 'nope'/],
    [{ colour: "red" }, /unknown option --colour/],
    [{ lr: "-1" }, /--lr must be > 0/],
    [{ until_grokked: "maybe" }, /takes no value or true\/false/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => resolveConfig(overrides), (e: Error) => message.test(e.message), JSON.stringify(overrides));
  }
});

test("config errors are ConfigErrors (the CLI turns them into exit code 2)", () => {
  assert.throws(() => resolveConfig({ p: "4" }), ConfigError);
});

test("isPrime", () => {
  assert.deepEqual([2, 3, 4, 9, 11, 97, 91, 1, 0].map(isPrime), [true, true, false, false, true, true, false, false, false]);
});
