// A worker thread of a sweep: trains whole runs, one at a time, each into its own folder,
// on a WebAssembly instance of its own (reused from run to run: each run gives its memory
// back). A run interrupted before goes on from its newest checkpoint. The host drives the
// worker through Comlink and hears of every evaluation.

import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import type { RunConfig } from "../src/core/config.js";
import { Run } from "../src/core/run.js";
import type { Summary } from "../src/core/train.js";
import type { Engine } from "../src/core/wasm/engine.js";
import { checkpointSteps, latestCheckpoint, readInitCheckpoint, rewindTo, type ResumePoint } from "../src/node/checkpoints.js";
import { OutputError } from "../src/node/files.js";
import { openExistingRunDir, openRunDir, type RunDir } from "../src/node/run-dir.js";
import { recordFailure, trainIntoFolder, yieldEvery } from "../src/node/run-folder.js";
import { loadEngine } from "../src/node/wasm.js";

/** What the host hears at each evaluation of the run in flight. */
export interface RunProgress {
  step: number;
  test_acc: number;
}

export type RunOutcome = { status: "done" | "interrupted"; summary: Summary } | { status: "failed"; error: string };

let engine: Engine | undefined;
let stopping = false;

export const api = {
  /** Trains into `folder`; `onCheckpoint` hears of each checkpoint written (and is waited for). */
  async train(config: RunConfig, folder: string, report: boolean, onEval: (p: RunProgress) => void, onCheckpoint?: (step: number) => Promise<void>): Promise<RunOutcome> {
    engine ??= await loadEngine();
    stopping = false;
    let run: Run | undefined;
    let rd: RunDir | undefined;
    try {
      // A folder holding this run's checkpoints goes on from the newest; any other starts afresh.
      const point = resumePoint(folder, config);
      rd = point ? openExistingRunDir(folder) : openRunDir(folder, "overwrite");
      if (point) rewindTo(folder, point.step, config);
      run = Run.assemble(engine, config, point ? { resume: point } : { weights: config.init_from === "" ? undefined : readInitCheckpoint(config.init_from) });
      const { summary } = await trainIntoFolder(folder, run, {
        workers: 1,
        resumed: point !== undefined,
        report,
        hooks: {
          onEval: (m) => onEval({ step: m.step, test_acc: m.test_acc }),
          shouldStop: () => stopping,
          pause: yieldEvery(200),
          checkpoint: async (_, trainer) => onCheckpoint?.(trainer.step),
        },
      });
      return { status: summary.stopped === "interrupted" ? "interrupted" : "done", summary };
    } catch (e) {
      // A folder this worker could not take (another process holds it) is left as it is.
      return { status: "failed", error: rd ? recordFailure(folder, config, e) : e instanceof Error ? e.message : String(e) };
    } finally {
      run?.dispose();
      rd?.commit();
    }
  },
  /** Stops the run in flight at its next step (it writes its files as interrupted). */
  stop(): void {
    stopping = true;
  },
};

// The newest checkpoint of this very run in `folder`, if it has one.
function resumePoint(folder: string, config: RunConfig): ResumePoint | undefined {
  if (checkpointSteps(folder).length === 0) return undefined;
  try {
    return latestCheckpoint(folder, config);
  } catch (e) {
    if (e instanceof OutputError) return undefined;
    throw e;
  }
}

export type RunWorker = typeof api;

if (parentPort) expose(api, nodeEndpoint(parentPort));
