// A command's words (after its name) -> flags and positional arguments.
// `--key value` and `--key=value`; kebab-case flags map to snake_case config keys
// (--eval-every -> eval_every); a flag in `switches` takes no value, or `=true` / `=false`.

export class UsageError extends Error {}

export interface ParsedArgs {
  flags: Record<string, string | boolean>;
  positional: string[];
}

export function parseArgs(argv: readonly string[], switches: ReadonlySet<string>): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "-h") {
      flags.help = true;
      continue;
    }
    if (!word.startsWith("--")) {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const key = (eq < 0 ? word.slice(2) : word.slice(2, eq)).replace(/-/g, "_");
    if (key === "") throw new UsageError(`malformed flag '${word}'`);
    if (key in flags) throw new UsageError(`--${key.replace(/_/g, "-")} is given twice`);
    if (eq >= 0 && switches.has(key)) flags[key] = switchValue(key, word.slice(eq + 1));
    else if (eq >= 0) flags[key] = word.slice(eq + 1);
    else if (switches.has(key)) flags[key] = true;
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${key.replace(/_/g, "-")} needs a value`);
      flags[key] = value;
      i++;
    }
  }
  return { flags, positional };
}

function switchValue(key: string, value: string): boolean {
  if (value === "true" || value === "false") return value === "true";
  throw new UsageError(`--${key.replace(/_/g, "-")} takes no value, or =true / =false, got '${value}'`);
}

/** A count given on the command line (--workers, --concurrency): decimal digits in [min, max]. */
export function parseCount(flag: string, raw: string | boolean | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${String(raw)}'`);
  return n;
}

/** A size given on the command line: bytes, or with a unit (500M, 2G, 1.5GB). */
export function parseBytes(flag: string, raw: string | boolean): number {
  const m = typeof raw === "string" ? /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(raw.trim()) : null;
  const bytes = m ? Number(m[1]) * 1024 ** " KMGT".indexOf((m[2] || " ").toUpperCase()) : NaN;
  if (!(bytes >= 1)) throw new UsageError(`--${flag} must be a size such as 2G or 500M, got '${String(raw)}'`);
  return Math.floor(bytes);
}

/** Refuses a flag that is neither one of `options` nor a config key, listing both. */
export function checkFlags(command: string, flags: Record<string, unknown>, options: readonly string[], configKeys: readonly string[]): void {
  const dash = (k: string): string => "--" + k.replace(/_/g, "-");
  const unknown = Object.keys(flags).find((k) => k !== "help" && !options.includes(k) && !configKeys.includes(k));
  if (unknown !== undefined) {
    throw new UsageError(`unknown option ${dash(unknown)} for grok ${command} (options: ${options.map(dash).join(" ")}; config keys: ${configKeys.map(dash).join(" ")})`);
  }
}

/**
 * The flags with those of --config FILE.json beneath them: the file is one object of
 * config keys (a flag given on the command line wins).
 */
export function withConfigFile(flags: Record<string, string | boolean>, read: (path: string) => string): Record<string, string | boolean> {
  const { config, ...rest } = flags;
  if (config === undefined) return flags;
  if (typeof config !== "string" || config === "") throw new UsageError("--config needs a JSON file of config keys");
  let doc: unknown;
  try {
    doc = JSON.parse(read(config));
  } catch (e) {
    throw new UsageError(`--config ${config}: ${e instanceof SyntaxError ? "not JSON" : (e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UsageError(`--config ${config}: the file holds one object of config keys, e.g. {"task": "add", "p": 97}`);
  const fromFile = Object.fromEntries(Object.entries(doc).map(([k, v]) => {
    if (typeof v === "boolean" || typeof v === "string") return [k, v];
    if (typeof v === "number") return [k, String(v)];
    throw new UsageError(`--config ${config}: '${k}' is ${JSON.stringify(v)}, not a string, number or true/false`);
  }));
  return { ...fromFile, ...rest };
}
