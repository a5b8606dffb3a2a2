// A command's words (after its name) -> flags and positional arguments.
// `--key value` and `--key=value`; kebab-case flags map to snake_case config keys
// (--eval-every -> eval_every); a flag in `switches` takes no value unless given with '='.

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
    if (!word.startsWith("--")) {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const key = (eq < 0 ? word.slice(2) : word.slice(2, eq)).replace(/-/g, "_");
    if (key === "") throw new UsageError(`malformed flag '${word}'`);
    if (key in flags) throw new UsageError(`--${key.replace(/_/g, "-")} is given twice`);
    if (eq >= 0) flags[key] = word.slice(eq + 1);
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
