// The one error boundary of `grok`: every failure becomes one line on stderr naming the
// value, or the resource and the fix, with an exit code: 2 for bad input, 1 for a failed
// run or a resource the machine lacks (disk, permissions), 70 for a bug (with the hint to
// report it). GROK_DEBUG=1 adds the stack trace. A closed stdout (`grok tasks | head`) ends
// the output quietly while the command finishes its files.

import { ConfigError } from "../core/config.js";
import { TaskError } from "../core/data/tasks.js";
import { CheckpointError } from "../core/io/checkpoint.js";
import { RunFileError } from "../core/io/run-files.js";
import { SafetensorsError } from "../core/io/safetensors.js";
import { SweepError } from "../core/sweep.js";
import { TrainingError } from "../core/train.js";
import { MemoryError } from "../core/wasm/engine.js";
import { LayoutError } from "../core/wasm/layout.js";
import { UsageError } from "./args.js";
import { EdgeError } from "./edge-client.js";
import { QueueError } from "./queue/redis.js";
import { OutputError } from "./files.js";

const BAD_INPUT = [UsageError, ConfigError, TaskError, OutputError, SafetensorsError, CheckpointError, RunFileError, SweepError];
/** A run that failed, or what the machine lacks (memory, a server it can reach): exit 1. */
const UNAVAILABLE = [QueueError, TrainingError, MemoryError, LayoutError];

/** What an errno means, and what to do about it. */
const ERRNO: Record<string, [string, string]> = {
  ENOSPC: ["no space left on the device", "free some space or write elsewhere (--out)"],
  EDQUOT: ["the disk quota is used up", "free some space or write elsewhere (--out)"],
  EACCES: ["permission denied", "choose a folder you may write (--out)"],
  EPERM: ["operation not permitted", "choose a folder you may write (--out)"],
  EROFS: ["a read-only file system", "write elsewhere (--out)"],
  EIO: ["an I/O error", "check the disk"],
  EMFILE: ["too many open files", "raise the limit (ulimit -n) or run fewer at a time"],
  EISDIR: ["is a folder, not a file", "give the file's path"],
  ENOTDIR: ["a part of the path is not a folder", "check the path"],
  ENOENT: ["no such file or folder", "check the path"],
};

/** The exit code of a failure, after writing its one line (and, with GROK_DEBUG=1, its trace). */
export function reportFailure(e: unknown): number {
  const debug = process.env.GROK_DEBUG === "1";
  const [line, code] = describe(e);
  process.stderr.write(`grok: ${line}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return code;
}

function describe(e: unknown): [string, number] {
  if (BAD_INPUT.some((E) => e instanceof E)) return [`error: ${(e as Error).message}`, 2];
  if (UNAVAILABLE.some((E) => e instanceof E)) return [`error: ${(e as Error).message}`, 1];
  if (e instanceof EdgeError) return [`error: ${e.message}`, e.badInput ? 2 : 1];
  const errno = e as NodeJS.ErrnoException;
  if (typeof errno?.code === "string" && ERRNO[errno.code]) {
    const [what, fix] = ERRNO[errno.code]!;
    const path = errno.path ? ` (${errno.path.replace(/\.\d+\.tmp$/, "")})` : "";
    return [`error: ${what}${path} while ${errno.syscall ?? "working"}: ${fix}`, 1];
  }
  const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return [`internal error: ${message} (GROK_DEBUG=1 shows where; please report it)`, 70];
}

/** From now on a closed stdout (EPIPE) stops the output, not the command. */
export function tolerateClosedStdout(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
}
