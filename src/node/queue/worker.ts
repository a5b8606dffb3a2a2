// `grok worker`: takes runs from the queue and trains each on a worker thread of its own
// (a run that takes its thread down fails alone). While a run trains, the main thread keeps
// the job's lock alive; at each checkpoint the run's state goes into the job, so when this
// process dies (SIGKILL, a lost machine) the job is found stalled and another worker goes on
// from that checkpoint, not from step 0. SIGTERM stops the runs at their next step, puts
// their checkpoints back in the queue and exits.

import { UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, resolveConfig, type RunConfig } from "../../core/config.js";
import { TaskError } from "../../core/data/tasks.js";
import { firstIssue } from "../../core/io/safetensors.js";
import { configHash } from "../../core/sweep.js";
import { RunThread } from "../run-thread.js";
import { label } from "../sweep.js";
import { JobData, openQueue, QUEUE_NAME, readFolder, writeFolder, type JobResult } from "./jobs.js";
import { connect, type QueueUrl } from "./redis.js";

/** How long stopping waits for Redis to take the runs in flight back. */
const CLOSE_TIMEOUT_MS = 15000;

export interface QueueWorkerOptions {
  queue: QueueUrl;
  concurrency: number;
  /** A run folder's place on a disk the coordinator shares: files stay there, not in Redis. */
  results?: string;
  /** Where runs are trained (their folders are sent through the queue, then removed). */
  work: string;
  /** How long a job's lock lasts unrenewed before another worker takes the job as stalled. */
  stallMs: number;
  /** Exit once the queue has nothing waiting or running. */
  untilEmpty: boolean;
  log(line: string): void;
}

/** The job's run, validated exactly like command-line input; a job that is not one fails once. */
function jobRun(job: Job): { data: JobData; config: RunConfig } {
  const parsed = JobData.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`job ${job.id} is not a run grok sweep enqueued: ${firstIssue(parsed.error)}`);
  let config: RunConfig;
  try {
    config = resolveConfig(parsed.data.overrides);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TaskError) throw new UnrecoverableError(e.message);
    throw e;
  }
  if (configHash(config) !== job.id) throw new UnrecoverableError(`job ${job.id} holds a run whose config hashes to ${configHash(config)}: not a job grok sweep enqueued`);
  return { data: parsed.data, config };
}

export async function runQueueWorker(o: QueueWorkerOptions): Promise<number> {
  const connection = await connect(o.queue);
  const idle: RunThread[] = Array.from({ length: o.concurrency }, () => new RunThread());
  const busy = new Set<RunThread>();
  let stopping = false;
  const queue = openQueue(connection);

  const process_ = async (job: Job<JobData, JobResult>, token?: string): Promise<JobResult> => {
    const { data, config } = jobRun(job);
    const name = label(data);
    const folder = o.results ? join(o.results, "runs", data.folder) : join(o.work, job.id!);
    if (!o.results) {
      rmSync(folder, { recursive: true, force: true });
      if (data.resume) writeFolder(folder, data.resume);
    }
    const from = data.resume?.checkpoint?.step;
    o.log(from ? `${name}: resuming at step ${from} (${job.id})` : `${name}: started (${job.id})`);
    const thread = idle.pop()!;
    busy.add(thread);
    try {
      const outcome = await thread.train(config, folder, false, {
        onEval: (p) => void job.updateProgress(p).catch(() => undefined),
        onCheckpoint: async () => {
          await job.updateData({ ...data, resume: readFolder(folder, false) });
        },
      });
      if (outcome.status === "crashed") throw new Error(outcome.error); // tried again, from its checkpoint
      if (outcome.status === "failed") throw new UnrecoverableError(outcome.error);
      if (outcome.status === "interrupted") {
        await job.updateData({ ...data, resume: readFolder(folder, false) });
        await job.moveToWait(token);
        o.log(`${name}: stopped at step ${outcome.summary.steps}, back in the queue`);
        throw new WaitingError();
      }
      const s = outcome.summary;
      o.log(`${name}: done, ${s.grokked_step === null ? "did not grok" : `grokked at step ${s.grokked_step}`}; ${s.steps} steps in ${s.wall_s.toFixed(1)} s`);
      return o.results ? { summary: s, shared: data.folder } : { summary: s, folder: readFolder(folder, true) };
    } finally {
      busy.delete(thread);
      idle.push(thread);
      if (!o.results) rmSync(folder, { recursive: true, force: true });
    }
  };

  const worker = new Worker<JobData, JobResult>(QUEUE_NAME, process_, {
    connection,
    concurrency: o.concurrency,
    lockDuration: o.stallMs,
    stalledInterval: o.stallMs,
    maxStalledCount: 3,
  });
  // Connection errors while Redis is away: BullMQ reconnects; say so once per outage.
  let away = false;
  worker.on("error", (e) => {
    if (!away) o.log(`queue: ${e.message} (reconnecting)`);
    away = true;
  });
  worker.on("ready", () => { away = false; });
  worker.on("failed", (job, e) => { if (job) o.log(`${label(job.data)}: failed: ${e.message}`); });
  o.log(`worker ${process.pid}: ${o.concurrency} run${o.concurrency > 1 ? "s" : ""} at a time from ${o.queue.shown}${o.results ? `, results in ${o.results}` : ""}`);

  await new Promise<void>((resolve) => {
    const stop = (why = `stopping: ${busy.size} run${busy.size === 1 ? "" : "s"} in flight go${busy.size === 1 ? "es" : ""} back to the queue at ${busy.size === 1 ? "its" : "their"} next step`): void => {
      if (stopping) return;
      stopping = true;
      o.log(why);
      for (const t of busy) void t.stop();
      resolve();
    };
    process.once("SIGTERM", () => stop());
    process.once("SIGINT", () => stop());
    if (o.untilEmpty) {
      const timer = setInterval(() => {
        if (busy.size > 0) return;
        void queue.getJobCounts("wait", "active", "delayed", "prioritized").then((c) => {
          if (Object.values(c).every((n) => n === 0)) {
            clearInterval(timer);
            stop("the queue is empty: done");
          }
        }, () => undefined);
      }, 1000);
    }
  });
  // The runs in flight go back to the queue first; with Redis away that cannot happen, and
  // the worker stops anyway (their jobs are found stalled and go on from their checkpoints).
  // The timer is unref'd: once closed, it must not keep the process waiting out its 15 s.
  const closed = await Promise.race([worker.close().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), CLOSE_TIMEOUT_MS).unref())]);
  if (!closed) {
    o.log(`Redis at ${o.queue.shown} did not answer in ${CLOSE_TIMEOUT_MS / 1000} s: stopping without it`);
    void worker.close(true);
  }
  await Promise.all([...idle, ...busy].map((t) => t.terminate()));
  connection.disconnect();
  void queue.close();
  return 0;
}
