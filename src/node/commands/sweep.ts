// `grok sweep`: a grid of runs on a pool of worker threads, or its summary rebuilt.

import { readFileSync } from "node:fs";
import { expandSweep, sweepId, type SweepCell, type SweepRow } from "../../core/sweep.js";
import { cellStatuses, collect, enqueue, openQueue, statusLines } from "../queue/jobs.js";
import { connect, parseQueueUrl } from "../queue/redis.js";
import { parseCount, UsageError, withConfigFile } from "../args.js";
import { defaultConcurrency, defaultSweepDir, readSpec, runSweep, writeSweepSummary } from "../sweep.js";
import type { Command } from "./command.js";
import { CONFIG_OPTIONS } from "./train.js";

const OPTIONS = ["out", "concurrency", "run_reports", "quiet", "summary", "config", "queue", "status", "collect", "wait"];

export const sweep: Command = {
  name: "sweep",
  summary: "a grid of runs on worker threads; resumable; summary.csv and a Table A.5 page",
  switches: ["until_grokked", "run_reports", "quiet", "status", "collect", "wait"],
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

Many machines (README, "Many machines"): one Redis, \`grok worker --queue URL\` on each machine.
  --queue redis://[:password@]host:port[/db]   (rediss:// for TLS)
                       enqueue one job per run instead of running here (a run already in
                       the queue is not added again)
  --wait               with --queue: wait for every run to end, then collect (below)
  --status             with --queue: how many runs are done, running, failed, waiting; the failures
  --collect            with --queue: write the sweep folder (--out) from the queue: the run
                       folders, summary.csv, summary.json, report.html

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
    if (flags.queue !== undefined) return onQueue(flags, cells, out);
    for (const k of ["status", "collect", "wait"]) if (flags[k] !== undefined) throw new UsageError(`--${k} goes with --queue URL`);
    const { rows, interrupted } = await runSweep(cells, { out, concurrency, runReports: flags.run_reports === true, quiet: flags.quiet === true });
    const failed = rows.filter((r) => r.status === "failed").length;
    const done = rows.filter((r) => r.status === "done").length;
    process.stdout.write(`${rows.length} runs: ${done} done, ${failed} failed${interrupted ? ", interrupted" : ""} -> ${out}/summary.csv, summary.json, report.html\n`);
    return interrupted ? 130 : failed > 0 ? 1 : 0;
  },
};

// `grok sweep --queue URL`: enqueue, or the status of the runs, or the sweep folder from them.
async function onQueue(flags: Record<string, string | boolean>, cells: SweepCell[], out: string): Promise<number> {
  const modes = ["status", "collect", "wait"].filter((k) => flags[k] === true);
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} do not go together`);
  const connection = await connect(parseQueueUrl(flags.queue));
  const queue = openQueue(connection);
  try {
    if (flags.status === true) {
      process.stdout.write(statusLines(await cellStatuses(queue, cells)).join("\n") + "\n");
      return 0;
    }
    if (flags.collect === true) return collected(collect(await cellStatuses(queue, cells), out), out);
    const { added, existing } = await enqueue(queue, cells);
    process.stdout.write(`${cells.length} runs: ${added} enqueued, ${existing} already in the queue (sweep ${sweepId(cells).slice(0, 8)})\n`);
    if (flags.wait !== true) {
      process.stdout.write(`start workers with: grok worker --queue URL; then grok sweep ... --queue URL --status or --collect --out DIR\n`);
      return 0;
    }
    for (let last = ""; ; ) {
      const statuses = await cellStatuses(queue, cells);
      const lines = statusLines(statuses);
      if (flags.quiet !== true && lines[0] !== last) process.stderr.write(`${(last = lines[0]!)}\n`);
      if (statuses.every((x) => x.state === "done" || x.state === "failed")) return collected(collect(statuses, out), out);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await queue.close();
    await connection.quit().catch(() => undefined);
  }
}

function collected(rows: SweepRow[], out: string): number {
  const failed = rows.filter((r) => r.status === "failed").length;
  const done = rows.filter((r) => r.status === "done").length;
  process.stdout.write(`${rows.length} runs: ${done} done, ${failed} failed, ${rows.length - done - failed} not finished -> ${out}/summary.csv, summary.json, report.html\n`);
  return failed > 0 ? 1 : 0;
}
