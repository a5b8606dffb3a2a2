// `grok worker --queue URL`: trains runs from a sweep's queue on this machine until stopped.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCount, UsageError } from "../args.js";
import { runQueueWorker } from "../queue/worker.js";
import { parseQueueUrl } from "../queue/redis.js";
import { defaultConcurrency } from "../sweep.js";
import type { Command } from "./command.js";

const OPTIONS = ["queue", "concurrency", "results", "work", "stall_timeout", "until_empty", "quiet"];

export const worker: Command = {
  name: "worker",
  summary: "train runs from a sweep's queue (Redis) on this machine",
  switches: ["until_empty", "quiet"],
  help: () => `Usage: grok worker --queue redis://[:password@]host:port[/db] [options]

Takes runs from the queue \`grok sweep --queue URL\` fills and trains them here, each on a
thread of its own; runs until stopped (Ctrl-C, SIGTERM: the runs in flight go back to the
queue at their next step, with their checkpoints). A run's files go back through the
queue when it ends; its checkpoints go into its job as it trains, so that if this process
dies, another worker goes on from the last one.

  --concurrency N      runs at a time, one thread each            [cores: ${defaultConcurrency()}]
  --results DIR        write run folders to DIR/runs/ on a disk the coordinator shares,
                       instead of sending their files through Redis
  --work DIR           where runs train before their files are sent  [${join(tmpdir(), "grok-worker-<pid>")}]
  --stall-timeout S    seconds a dead worker's job waits before another takes it over [30]
  --until-empty        exit once nothing is waiting or running (batch jobs, e.g. SLURM)
  --quiet              no log lines
`,
  async run({ positional, flags }) {
    if (positional.length > 0) throw new UsageError(`grok worker takes no positional arguments, got '${positional[0]}'`);
    const extra = Object.keys(flags).find((k) => !OPTIONS.includes(k));
    if (extra) throw new UsageError(`unknown option --${extra.replace(/_/g, "-")} for grok worker (options: ${OPTIONS.map((k) => "--" + k.replace(/_/g, "-")).join(" ")})`);
    if (flags.results === true || flags.results === "") throw new UsageError("--results needs a folder");
    if (flags.work === true || flags.work === "") throw new UsageError("--work needs a folder");
    return runQueueWorker({
      queue: parseQueueUrl(flags.queue),
      concurrency: parseCount("concurrency", flags.concurrency, 1, 64, defaultConcurrency()),
      results: typeof flags.results === "string" ? flags.results : undefined,
      work: typeof flags.work === "string" ? flags.work : join(tmpdir(), `grok-worker-${process.pid}`),
      stallMs: 1000 * parseCount("stall-timeout", flags.stall_timeout, 1, 86400, 30),
      untilEmpty: flags.until_empty === true,
      log: (line) => { if (flags.quiet !== true) process.stdout.write(`${line}\n`); },
    });
  },
};
