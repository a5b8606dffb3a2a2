#!/usr/bin/env node
// `grok`: the command line. Each subcommand lives in commands/; every failure goes through
// one boundary (errors.ts): one line, an exit code, nothing half-written.

import { readFileSync } from "node:fs";
import { parseArgs, UsageError } from "./args.js";
import { reportFailure, tolerateClosedStdout } from "./errors.js";
import type { Command } from "./commands/command.js";
import { analyze } from "./commands/analyze.js";
import { sweep } from "./commands/sweep.js";
import { tasks } from "./commands/tasks.js";
import { train } from "./commands/train.js";
import { transfer } from "./commands/transfer.js";
import { exportCommand } from "./commands/export.js";
import { compare } from "./commands/compare.js";
import { serve } from "./commands/serve.js";
import { edgeTrain } from "./commands/edge-train.js";
import { worker } from "./commands/worker.js";

const COMMANDS: readonly Command[] = [train, sweep, worker, transfer, analyze, compare, serve, edgeTrain, exportCommand, tasks];

const usage = (): string => `grok - grokking of modular arithmetic on a WebAssembly SIMD core

Usage:
${COMMANDS.map((c) => `  grok ${c.name.padEnd(11)} ${c.summary}`).join("\n")}
  grok help [COMMAND]  this text, or a command's options (also COMMAND --help, -h)
  grok --version       the version
`;

/** The package's version (package.json beside the build). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`grok ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const about = COMMANDS.find((c) => c.name === argv[1]);
    process.stdout.write(about ? about.help() : usage());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(", ")}, help)`);
  const args = parseArgs(argv.slice(1), new Set([...command.switches, "help"]));
  if (args.flags.help) {
    process.stdout.write(command.help());
    return 0;
  }
  return command.run(args);
}

tolerateClosedStdout();
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.exitCode = reportFailure(e); },
);
