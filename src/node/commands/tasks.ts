// `grok tasks`: the built-in operations.

import { TASKS } from "../../core/data/tasks.js";
import { UsageError } from "../args.js";
import type { Command } from "./command.js";

export const tasks: Command = {
  name: "tasks",
  summary: "list the built-in tasks",
  switches: [],
  help: () => "Usage: grok tasks\n\nLists every built-in task: its name, formula, operator token and family.\n",
  async run(args) {
    if (args.positional.length > 0 || Object.keys(args.flags).length > 0) throw new UsageError("usage: grok tasks (no arguments)");
    const rows = TASKS.map((t) => [t.name, t.formula, t.op, t.group]);
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) process.stdout.write(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  op '${r[2]}'  ${r[3]}\n`);
    process.stdout.write(`\nAny other expression in a and b works too: --task "a^2+a*b+b^2" (integers, + - * / ^, parentheses).\n`);
    process.stdout.write(`Several, comma-separated, make a mixture: --task add,sub,mul.\n`);
    return 0;
  },
};
