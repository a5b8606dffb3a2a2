// A run's configuration: one flat block of defaults (the paper's setup), overridden key by
// key. Keys are snake_case everywhere: here, in config.json, and on the command line
// (--eval-every sets eval_every). The resolved config is saved beside every run.

import { checkDistinct, resolveTasks } from "./data/tasks.js";
import { ModuleError, moduleParams } from "./model/params.js";

export interface RunConfig {
  preset: string;        // the named set of defaults this config starts from (PRESETS)
  // --- data ---
  task: string;          // a task name (`grok tasks`) or an expression in a and b; a mixture: several, comma-separated
  p: number;             // prime modulus
  frac: number;          // fraction r of all pairs used for training
  seed: number;          // seeds the split and the initialisation
  // --- training ---
  steps: number;         // full-batch AdamW steps (at most, with until_grokked)
  eval_every: number;    // metrics at step 0 and every eval_every steps
  until_grokked: boolean;// stop a little after the test accuracy reaches GROK_ACC
  lr: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  eps: number;
  // --- model ---
  path: string;          // "fast" (per-token tables) or "reference" (the literal model): same mathematics
  d_model: number;
  n_heads: number;
  d_head: number;
  d_mlp: number;
  // --- transfer of pre-grokked modules (docs/model.md) ---
  init_from: string;     // a run folder or .safetensors file to load modules from ("" = none)
  load: string;          // the modules taken from it: embed, attn, mlp, transformer (attn+mlp), unembed, all
  freeze: string;        // modules AdamW leaves alone (no update, no decay), comma-separated; "" = none
  // --- checkpoints ---
  ckpt_every: number;    // a training-state checkpoint every N steps (0: only at the events and the end)
  measure_every: number; // progress measures (progress.jsonl) every N steps (0: none)
  keep_ckpts: number;    // periodic checkpoints kept; those at memorisation, grokking and the end always stay
}

export const DEFAULTS: Readonly<RunConfig> = {
  preset: "paper",
  task: "add",
  p: 97,
  frac: 0.3,
  seed: 0,
  steps: 30000,
  eval_every: 100,
  until_grokked: false,
  lr: 1e-3,
  weight_decay: 1.0,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  path: "fast",
  d_model: 128,
  n_heads: 4,
  d_head: 32,
  d_mlp: 512,
  init_from: "",
  load: "all",
  freeze: "",
  ckpt_every: 1000,
  measure_every: 1000,
  keep_ckpts: 3,
};

/** The largest modulus: the full-batch activations of p^2 pairs must fit in WebAssembly memory. */
export const MAX_P = 257;

export class ConfigError extends Error {}

/** How loss and gradients are computed (src/core/fast.ts, src/core/reference.ts). */
export const PATHS = ["fast", "reference"];

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

type Key = keyof RunConfig;
const KEYS = Object.keys(DEFAULTS) as Key[];

export function isConfigKey(key: string): key is Key {
  return (KEYS as string[]).includes(key);
}

/**
 * Applies string overrides (from the command line) to the defaults and validates the
 * result. An unknown key or a value of the wrong kind is a ConfigError naming it.
 */
export function resolveConfig(overrides: Record<string, string | boolean>, base: RunConfig = DEFAULTS): RunConfig {
  const preset = overrides.preset;
  if (preset !== undefined && (typeof preset !== "string" || !(preset in PRESETS))) {
    throw new ConfigError(`--preset must be one of ${Object.keys(PRESETS).join(", ")}, got '${String(preset)}'`);
  }
  const cfg: RunConfig = { ...base, ...(preset === undefined ? {} : PRESETS[preset]), ...(preset === undefined ? {} : { preset }) };
  for (const [key, raw] of Object.entries(overrides)) {
    if (!isConfigKey(key)) throw new ConfigError(`unknown option --${key.replace(/_/g, "-")} (config keys: ${KEYS.map((k) => "--" + k.replace(/_/g, "-")).join(" ")})`);
    (cfg as unknown as Record<string, unknown>)[key] = parseValue(key, raw);
  }
  validateConfig(cfg);
  return cfg;
}

/**
 * Named sets of defaults: `paper`, the paper's setup (p = 97, r = 0.3, the 128-wide model);
 * `small`, for a small p (up to 31), where the paper's settings take tens of thousands of
 * steps or never grok: a smaller, faster-learning model on 70% of the pairs. (a+b)^2 mod 31
 * groks in 900 steps with it (README, "Presets").
 */
export const PRESETS: Readonly<Record<string, Partial<RunConfig>>> = {
  paper: {},
  small: { p: 31, frac: 0.7, d_model: 64, n_heads: 4, d_head: 16, d_mlp: 128, lr: 5e-3, weight_decay: 2, steps: 10000, eval_every: 50, ckpt_every: 500, measure_every: 500 },
};

function parseValue(key: Key, raw: string | boolean): string | number | boolean {
  const kind = typeof DEFAULTS[key];
  if (kind === "boolean") {
    if (raw === true || raw === "true" || raw === "1") return true;
    if (raw === false || raw === "false" || raw === "0") return false;
    throw new ConfigError(`--${flag(key)} takes no value or true/false, got '${raw}'`);
  }
  if (typeof raw !== "string") throw new ConfigError(`--${flag(key)} needs a value`);
  if (kind === "number") {
    // Decimal only: no hexadecimal, no blanks, no exponent on a count.
    const integer = INTEGER_KEYS.has(key);
    if (!(integer ? /^\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/).test(raw)) {
      throw new ConfigError(`--${flag(key)} must be a decimal ${integer ? "integer" : "number"}, got '${raw}'`);
    }
    const x = Number(raw);
    if (!Number.isFinite(x)) throw new ConfigError(`--${flag(key)} must be a finite number, got '${raw}'`);
    return x;
  }
  return raw;
}

/** The keys that count things: digits only. */
const INTEGER_KEYS: ReadonlySet<string> = new Set(["p", "seed", "steps", "eval_every", "d_model", "n_heads", "d_head", "d_mlp", "ckpt_every", "measure_every", "keep_ckpts"]);

const flag = (key: string): string => key.replace(/_/g, "-");

function requireInteger(cfg: RunConfig, key: Key, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const x = cfg[key] as number;
  if (!Number.isInteger(x) || x < min || x > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new ConfigError(`--${flag(key)} must be ${range}, got ${x}`);
  }
}

/** Throws a ConfigError naming the first bad value and what is allowed. */
export function validateConfig(cfg: RunConfig): void {
  if (!(cfg.preset in PRESETS)) throw new ConfigError(`--preset must be one of ${Object.keys(PRESETS).join(", ")}, got '${cfg.preset}'`);
  if (!Number.isInteger(cfg.p) || !isPrime(cfg.p) || cfg.p < 3 || cfg.p > MAX_P) {
    const why = !Number.isInteger(cfg.p) ? "not an integer" : !isPrime(cfg.p) ? "not prime" : "out of range";
    throw new ConfigError(`--p must be a prime between 3 and ${MAX_P}, got ${cfg.p} (${why})`);
  }
  if (!(cfg.frac > 0 && cfg.frac < 1)) throw new ConfigError(`--frac must be in (0, 1), got ${cfg.frac}`);
  requireInteger(cfg, "seed", 0, 2 ** 32 - 1);
  requireInteger(cfg, "steps", 1);
  requireInteger(cfg, "eval_every", 1);
  for (const key of ["d_model", "n_heads", "d_head", "d_mlp"] as const) requireInteger(cfg, key, 1, 4096);
  if (!(cfg.lr > 0)) throw new ConfigError(`--lr must be > 0, got ${cfg.lr}`);
  if (!(cfg.weight_decay >= 0)) throw new ConfigError(`--weight-decay must be >= 0, got ${cfg.weight_decay}`);
  for (const key of ["beta1", "beta2"] as const) {
    if (!(cfg[key] >= 0 && cfg[key] < 1)) throw new ConfigError(`--${key} must be in [0, 1), got ${cfg[key]}`);
  }
  if (!(cfg.eps > 0)) throw new ConfigError(`--eps must be > 0, got ${cfg.eps}`);
  if (!PATHS.includes(cfg.path)) throw new ConfigError(`--path must be one of ${PATHS.join(", ")}, got '${cfg.path}'`);
  requireInteger(cfg, "ckpt_every", 0);
  requireInteger(cfg, "measure_every", 0);
  requireInteger(cfg, "keep_ckpts", 0);
  for (const key of ["load", "freeze"] as const) {
    try {
      moduleParams(cfg[key], key);
    } catch (e) {
      throw e instanceof ModuleError ? new ConfigError(e.message) : e;
    }
  }
  if (cfg.init_from === "" && cfg.load !== DEFAULTS.load) throw new ConfigError(`--load ${cfg.load} needs --init-from (a run folder or a .safetensors file to load it from)`);
  const tasks = resolveTasks(cfg.task);
  if (tasks.length > 1) checkDistinct(tasks, cfg.p);
}
