// A sweep on a BullMQ queue: one job per run, its id the hash of the run's resolved config
// (the same sweep enqueued twice adds nothing; two sweeps that share a run share its job).
// A job's data is what `grok sweep` would run (the cell's config keys, validated again by
// the worker exactly like command-line input) and, once the run has checkpointed, what it
// needs to go on elsewhere: its newest checkpoint and its logs. A finished job returns the
// run's files. Everything a job puts in Redis is bounded (QUEUE_PAYLOAD_LIMIT).

import { Queue, type Job } from "bullmq";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { SweepCell, SweepRow } from "../../core/sweep.js";
import type { Summary } from "../../core/train.js";
import { checkpointPath, checkpointSteps, CHECKPOINTS } from "../checkpoints.js";
import { makeDirs, writeFileAtomic } from "../files.js";
import { recordFailure } from "../run-folder.js";
import { label, writeSweepFile, writeSweepSummary } from "../sweep.js";
import type { Redis } from "ioredis";

export const QUEUE_NAME = "grokwasm-runs";
/** The most a job's data or result may hold (base64 included): a p = 97 run's are about 5 MB. */
export const QUEUE_PAYLOAD_LIMIT = 32 * 2 ** 20;
/** Tries of a job whose run's thread or worker died (a run that fails on its own fails once). */
const ATTEMPTS = 3;

/** The text files of a run folder that travel through the queue. */
const TEXT_FILES = ["config.json", "metrics.jsonl", "progress.jsonl", "summary.json"] as const;

const Files = z.partialRecord(z.enum(TEXT_FILES), z.string());
const Checkpoint = z.strictObject({ step: z.number().int().positive(), base64: z.string() });

/** A run folder in transit: its text files, its weights and its newest checkpoint. */
export const FolderPayload = z.strictObject({ files: Files, model: z.string().optional(), checkpoint: Checkpoint.optional() });
export type FolderPayload = z.infer<typeof FolderPayload>;

export const JobData = z.strictObject({
  v: z.literal(1),
  folder: z.string().regex(/^[A-Za-z0-9+\-.=_]{1,80}$/, "a folder name of letters, digits and +-.=_"),
  axes: z.record(z.string(), z.string()),
  overrides: z.record(z.string(), z.union([z.string(), z.boolean()])),
  /** The run so far, once it has checkpointed: another worker goes on from here. */
  resume: FolderPayload.optional(),
});
export type JobData = z.infer<typeof JobData>;

/** What a finished job returns: the run folder, or (with --results on a shared disk) where it is. */
export type JobResult = { summary: Summary } & ({ folder: FolderPayload } | { shared: string });

export function openQueue(connection: Redis): Queue<JobData, JobResult> {
  return new Queue<JobData, JobResult>(QUEUE_NAME, { connection });
}

/** Enqueues every cell (an invalid one too: its job fails once, with its error); returns how many were new. */
export async function enqueue(queue: Queue<JobData, JobResult>, cells: readonly SweepCell[]): Promise<{ added: number; existing: number }> {
  const existing = (await Promise.all(cells.map((c) => queue.getJob(c.id)))).filter(Boolean).length;
  await queue.addBulk(cells.map((c) => ({
    name: "run",
    data: { v: 1 as const, folder: c.folder, axes: c.axes, overrides: c.overrides },
    opts: { jobId: c.id, attempts: ATTEMPTS, backoff: { type: "exponential", delay: 2000 }, removeOnComplete: false, removeOnFail: false },
  })));
  return { added: cells.length - existing, existing };
}

export type CellState = "done" | "failed" | "running" | "waiting" | "not enqueued";

export interface CellStatus {
  cell: SweepCell;
  state: CellState;
  job?: Job<JobData, JobResult>;
}

export async function cellStatuses(queue: Queue<JobData, JobResult>, cells: readonly SweepCell[]): Promise<CellStatus[]> {
  return Promise.all(cells.map(async (cell): Promise<CellStatus> => {
    // The state first, then the job: a run that completes between the two reads is then seen
    // still running (the next poll sees it done), never done without its files (BullMQ
    // stores the result and the state together).
    const s = await queue.getJobState(cell.id);
    const job = s === "unknown" ? undefined : await queue.getJob(cell.id);
    if (!job) return { cell, state: "not enqueued" };
    const state: CellState = s === "completed" ? "done" : s === "failed" ? "failed" : s === "active" ? "running" : "waiting";
    return { cell, state, job };
  }));
}

/** The counts line and one line per failure (the error it failed with) or run in flight. */
export function statusLines(statuses: readonly CellStatus[]): string[] {
  const count = (s: CellState): number => statuses.filter((x) => x.state === s).length;
  const counts = `${statuses.length} runs: ${count("done")} done, ${count("running")} running, ${count("failed")} failed, ${count("waiting")} waiting${count("not enqueued") ? `, ${count("not enqueued")} not enqueued` : ""}`;
  const lines = statuses.flatMap(({ cell, state, job }) => {
    if (state === "failed") return [`failed: ${label(cell)}: ${job!.failedReason}`];
    const at = job?.progress as { step?: number; test_acc?: number } | undefined;
    if (state === "running") return [`running: ${label(cell)}${typeof at?.step === "number" ? ` at step ${at.step}, test acc ${at.test_acc?.toFixed(3)}` : ""}`];
    return [];
  });
  return [counts, ...lines];
}

/**
 * The sweep folder from the queue: each finished run's files, the files so far of a run in
 * flight (checkpointed: it can go on from them), each failure as error.json; then the
 * summary, as a local sweep writes it.
 */
export function collect(statuses: readonly CellStatus[], out: string): SweepRow[] {
  writeSweepFile(out, statuses.map((s) => s.cell));
  for (const { cell, state, job } of statuses) {
    const folder = join(out, "runs", cell.folder);
    if (state === "failed") {
      makeDirs(folder);
      recordFailure(folder, cell.overrides, new Error(job!.failedReason), cell.id);
    } else if (state === "done" && "folder" in job!.returnvalue) {
      writeFolder(folder, job!.returnvalue.folder);
    } else if (job?.data.resume) {
      writeFolder(folder, job.data.resume);
    }
  }
  return writeSweepSummary(out);
}

/** A run folder's files as a payload: the text files, the weights, the newest checkpoint. */
export function readFolder(dir: string, withModel: boolean): FolderPayload {
  const files: Partial<Record<(typeof TEXT_FILES)[number], string>> = {};
  for (const name of TEXT_FILES) if (existsSync(join(dir, name))) files[name] = readFileSync(join(dir, name), "utf8");
  const step = checkpointSteps(dir)[0];
  const payload: FolderPayload = {
    files,
    ...(withModel && existsSync(join(dir, "model.safetensors")) ? { model: readFileSync(join(dir, "model.safetensors")).toString("base64") } : {}),
    ...(step !== undefined ? { checkpoint: { step, base64: readFileSync(checkpointPath(dir, step)).toString("base64") } } : {}),
  };
  const bytes = JSON.stringify(payload).length;
  if (bytes > QUEUE_PAYLOAD_LIMIT) {
    throw new PayloadError(`the run's files are ${(bytes / 2 ** 20).toFixed(0)} MB, more than a job carries through Redis (${QUEUE_PAYLOAD_LIMIT / 2 ** 20} MB): give grok worker --results DIR on a disk the coordinator shares`);
  }
  return payload;
}

export class PayloadError extends Error {}

/** Writes a payload into a run folder (fresh: whatever was there goes). */
export function writeFolder(dir: string, payload: FolderPayload): void {
  rmSync(dir, { recursive: true, force: true });
  makeDirs(join(dir, CHECKPOINTS));
  for (const [name, text] of Object.entries(payload.files)) writeFileAtomic(join(dir, name), text);
  if (payload.model) writeFileAtomic(join(dir, "model.safetensors"), Buffer.from(payload.model, "base64"));
  if (payload.checkpoint) writeFileAtomic(checkpointPath(dir, payload.checkpoint.step), Buffer.from(payload.checkpoint.base64, "base64"));
}
