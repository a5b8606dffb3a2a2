// One run at a time on a worker thread of its own (workers/run.worker.ts), driven through
// Comlink: the sandbox of a sweep's runs, local or from a queue. A run that takes its thread
// down (an abort in the core, running out of memory) fails alone: the thread is replaced and
// the next run gets a fresh one.

import { proxy, wrap, type Remote } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { Worker } from "node:worker_threads";
import type { RunConfig } from "../core/config.js";
import type { RunOutcome, RunProgress, RunWorker } from "../../workers/run.worker.js";

const WORKER = new URL("../../workers/run.worker.js", import.meta.url);

/** The outcome of a run, or that its thread died under it. */
export type ThreadOutcome = RunOutcome | { status: "crashed"; error: string };

export interface RunCallbacks {
  /** At each evaluation. */
  onEval?(p: RunProgress): void;
  /** After each checkpoint is written (the run waits for it). */
  onCheckpoint?(step: number): Promise<void>;
}

export class RunThread {
  private worker!: Worker;
  private remote!: Remote<RunWorker>;

  constructor() {
    this.spawn();
  }

  private spawn(): void {
    this.worker = new Worker(WORKER);
    this.remote = wrap<RunWorker>(nodeEndpoint(this.worker));
  }

  /** Trains `config` into `folder` (going on from its checkpoints, if it holds this run's). */
  async train(config: RunConfig, folder: string, report: boolean, callbacks: RunCallbacks = {}): Promise<ThreadOutcome> {
    const died = new Promise<ThreadOutcome>((resolve) => {
      this.worker.once("exit", (code) => resolve({ status: "crashed", error: `the worker thread running it exited (code ${code})` }));
      this.worker.once("error", (e) => resolve({ status: "crashed", error: `the worker thread running it failed: ${e.message}` }));
    });
    const onEval = proxy((p: RunProgress) => callbacks.onEval?.(p));
    const onCheckpoint = callbacks.onCheckpoint && proxy((step: number) => callbacks.onCheckpoint!(step));
    const outcome = await Promise.race([this.remote.train(config, folder, report, onEval, onCheckpoint), died]);
    this.worker.removeAllListeners("exit").removeAllListeners("error");
    if (outcome.status === "crashed") {
      await this.worker.terminate();
      this.spawn();
    }
    return outcome;
  }

  /** Stops the run in flight after its step: it writes a checkpoint and its files as interrupted. */
  stop(): Promise<void> {
    return this.remote.stop();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
