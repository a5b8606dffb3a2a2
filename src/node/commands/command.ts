// What every `grok` subcommand is: a name, a line for `grok help`, its own help text, the
// switches it takes (flags without a value), and what it does with the parsed words.

import type { ParsedArgs } from "../args.js";

export interface Command {
  readonly name: string;
  /** One line for the list of commands. */
  readonly summary: string;
  /** `grok help NAME` and `grok NAME --help`. */
  help(): string;
  /** Flags that take no value (`--force`), unless given as `--force=true|false`. */
  readonly switches: readonly string[];
  /** Runs the command; resolves to the exit code. */
  run(args: ParsedArgs): Promise<number>;
}
