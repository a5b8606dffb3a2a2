// `grok transfer`: the paper's transfer experiments (Fig. 2 and Table 1) as one command.

import { join } from "node:path";
import { isConfigKey } from "../../core/config.js";
import { axisValues, SweepError } from "../../core/sweep.js";
import { GRIDS, transferPlan } from "../../core/transfer.js";
import { parseCount, UsageError } from "../args.js";
import { defaultConcurrency } from "../sweep.js";
import { runTransfer } from "../transfer.js";
import type { Command } from "./command.js";

const OPTIONS = ["grid", "sources", "targets", "fracs", "seeds", "source_steps", "source_frac", "source_runs", "out", "concurrency", "quiet", "run_reports"];

export const transfer: Command = {
  name: "transfer",
  summary: "pre-grokked modules moved between tasks: the paper's Fig. 2 and Table 1",
  switches: ["quiet", "run_reports"],
  help: () => `Usage: grok transfer --grid elementary|table1 [options] [--key value ...]

Pre-groks each source at r = 0.3 (or takes --source-runs), then trains every target with
the source's embedding loaded and frozen (PG-E), with its attention and MLP loaded and
frozen (PG-T), and from scratch.

  --grid elementary    Fig. 2: sources ${GRIDS.elementary.sources.join(", ")} -> targets ${GRIDS.elementary.targets.join(", ")}, at one fraction
  --grid table1        Table 1: the 16 downstream polynomials x {${GRIDS.table1.sources.join(", ")}} x {PG-E, PG-T} and scratch;
                       per cell the smallest r in 0.3..0.9 at which the target groks (ascending, first success)
  --sources LIST       narrow the sources (e.g. add,mul)
  --targets LIST       narrow the targets (e.g. 2a+b,2a-3b)
  --fracs LIST|RANGE   the fractions tried (table1: 0.3:0.9:0.1; elementary: one, 0.3)
  --seeds LIST         one grid per seed (DIR/seed-<s>/)                      [0]
  --steps N            steps of each run (until it groks)                    [30000]
  --source-steps N     steps the sources may take to grok                    [--steps]
  --source-frac R      the fraction the sources train on                     [0.3, the paper's]
  --source-runs T=DIR,...  finished runs to use as sources (e.g. add=runs/add97)
  --out DIR            the grid's folder                                      [transfers/<grid>]
  --concurrency N      runs at a time, one thread each                        [cores: ${defaultConcurrency()}]
Any other config key (--p, --d-model, --lr, ...) applies to every run.

Writes DIR/transfer.json, transfer.csv and report.html; the runs live in DIR/sources/runs and
DIR/grid/runs. Running the same command again resumes the grid.
`,
  async run({ positional, flags }) {
    if (positional.length > 0) throw new UsageError(`grok transfer takes no positional arguments, got '${positional[0]}'`);
    if (typeof flags.grid !== "string") throw new UsageError(`--grid is needed: ${Object.keys(GRIDS).join(" or ")}`);
    const list = (key: string): string[] | undefined => (typeof flags[key] === "string" ? axisValues(key === "fracs" ? "frac" : key, flags[key] as string) : undefined);
    const base: Record<string, string | boolean> = {};
    for (const [key, value] of Object.entries(flags)) {
      if (OPTIONS.includes(key)) continue;
      if (!isConfigKey(key) || ["task", "frac", "seed", "init_from", "load", "freeze", "until_grokked"].includes(key)) throw new UsageError(`grok transfer sets --${key.replace(/_/g, "-")} itself or does not know it (see grok help transfer)`);
      base[key] = value;
    }
    const given = Object.fromEntries((list("source_runs") ?? []).map((pair) => {
      const [task, dir] = pair.split("=");
      if (!task || !dir) throw new SweepError(`--source-runs '${pair}': write TASK=DIR, e.g. add=runs/add97`);
      return [task, dir];
    }));
    const concurrency = parseCount("concurrency", flags.concurrency, 1, 64, defaultConcurrency());
    const seeds = list("seeds") ?? ["0"];
    const root = typeof flags.out === "string" ? flags.out : join("transfers", flags.grid);
    let code = 0;
    for (const seed of seeds) {
      const plan = transferPlan(flags.grid, { sources: list("sources"), targets: list("targets"), fracs: list("fracs") }, { ...base, seed },
        typeof flags.source_steps === "string" ? flags.source_steps : String(base.steps ?? 30000), typeof flags.source_frac === "string" ? flags.source_frac : undefined);
      const out = seeds.length > 1 ? join(root, `seed-${seed}`) : root;
      const { rows, interrupted } = await runTransfer(plan, { out, concurrency, quiet: flags.quiet === true, runReports: flags.run_reports === true, given });
      process.stdout.write(`${plan.grid} grid, seed ${seed}: ${rows.filter((r) => r.result !== "…").length}/${rows.length} cells resolved${interrupted ? " (interrupted)" : ""} -> ${out}/transfer.csv, transfer.json, report.html\n`);
      for (const t of plan.targets) process.stdout.write(`  ${t.padEnd(10)} ${rows.filter((r) => r.target === t).map((r) => `${r.source ? `${r.source} ${r.method}` : "scratch"}: ${r.result}`).join("  ")}\n`);
      if (interrupted) return 130;
      if (rows.some((r) => r.result.startsWith("✗ (no source)"))) code = 1;
    }
    return code;
  },
};
