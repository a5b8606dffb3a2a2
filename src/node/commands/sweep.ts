// `grok sweep`: a grid of runs on a pool of worker threads, or its summary rebuilt.

import { readFileSync } from "node:fs";
import { expandSweep } from "../../core/sweep.js";
import { parseCount, UsageError, withConfigFile } from "../args.js";
import { defaultConcurrency, defaultSweepDir, readSpec, runSweep, writeSweepSummary } from "../sweep.js";
import type { Command } from "./command.js";
import { CONFIG_OPTIONS } from "./train.js";

const OPTIONS = ["out", "concurrency", "run_reports", "quiet", "summary", "config"];

export const sweep: Command = {
  name: "sweep",
  summary: "a grid of runs on worker threads; resumable; summary.csv and a Table A.5 page",
  switches: ["until_grokked", "run_reports", "quiet"],
  help: () => `Usage: grok sweep [SPEC.json|SPEC.yaml] [--key values ...] [options]
       grok sweep --summary DIR

Any config key is an axis: comma-separated values ("add,sub,mul"; a mixture in braces,
quoted: "add,{add,sub,mul}"), or a range from:to:step ("0.3:0.9:0.1"). A key with one value
is fixed for every run. A spec file is one object of the same keys: a list is an axis
(a mixture is a nested list), anything else fixed. Flags override the file.

  grok sweep --task add,sub,mul --frac 0.3:0.9:0.1 --seed 0,1,2 --until-grokked

Config keys:
${CONFIG_OPTIONS}
Options:
  --out DIR            the sweep folder (runs in DIR/runs/)   [sweeps/<spec name or grid id>]
  --concurrency N      runs at a time, one thread each        [cores: ${defaultConcurrency()}]
  --run-reports        write each run's analysis and report too
  --quiet              no progress output
  --summary DIR        only rebuild DIR/summary.csv, summary.json, report.html from its run folders

A run whose folder already holds a finished run of the same config is skipped, so running
the same command again resumes an interrupted sweep. A run that fails is recorded with its
error (summary.csv, its folder's error.json) and the others go on.
`,
  async run({ positional, flags: given }) {
    let flags = given;
    if (flags.summary !== undefined) {
      if (typeof flags.summary !== "string" || positional.length > 0 || Object.keys(flags).length > 1) throw new UsageError("usage: grok sweep --summary DIR (nothing else)");
      const rows = writeSweepSummary(flags.summary);
      process.stdout.write(`${rows.length} runs -> ${flags.summary}/summary.csv, summary.json, report.html\n`);
      return 0;
    }
    if (positional.length > 1) throw new UsageError(`grok sweep takes at most one spec file, got ${positional.join(" ")}`);
    flags = withConfigFile(flags, (path) => readFileSync(path, "utf8"));
    const concurrency = parseCount("concurrency", flags.concurrency, 1, 64, defaultConcurrency());
    if (flags.out === true || flags.out === "") throw new UsageError("--out needs a folder");
    const cells = expandSweep(await readSpec(positional[0], Object.fromEntries(Object.entries(flags).filter(([k]) => !OPTIONS.includes(k)))));
    const out = typeof flags.out === "string" ? flags.out : defaultSweepDir(positional[0], cells);
    const { rows, interrupted } = await runSweep(cells, { out, concurrency, runReports: flags.run_reports === true, quiet: flags.quiet === true });
    const failed = rows.filter((r) => r.status === "failed").length;
    const done = rows.filter((r) => r.status === "done").length;
    process.stdout.write(`${rows.length} runs: ${done} done, ${failed} failed${interrupted ? ", interrupted" : ""} -> ${out}/summary.csv, summary.json, report.html\n`);
    return interrupted ? 130 : failed > 0 ? 1 : 0;
  },
};
