// One training run as a Cloudflare Durable Object. Its state lives in the object's storage
// between requests (run-store.ts); each `advance` restores it, trains one slice on the
// single-threaded core and stores it again, so any request may land on a fresh isolate, or
// another machine, and the run ends byte-identical to one uninterrupted run. The engine
// (the core's WebAssembly instance) is made once per isolate and its memory reused by every
// slice (each run gives its buffers back).

import wasm from "../../build/release.wasm";
import { ConfigError, resolveConfig } from "../../src/core/config.js";
import { TaskError } from "../../src/core/data/tasks.js";
import { CheckpointError, encodeWeights, readCheckpoint } from "../../src/core/io/checkpoint.js";
import { formatBytes, Run } from "../../src/core/run.js";
import { SliceError, trainSlice } from "../../src/core/slice.js";
import { TrainingError } from "../../src/core/train.js";
import { Engine, MemoryError } from "../../src/core/wasm/engine.js";
import { RunStore, type Manifest } from "./run-store.js";

/**
 * What a run may lay out: a Worker has 128 MB for everything, the runtime's own heap
 * included. The analysis (a batch of all p^2 pairs) is not run here: the client runs it on
 * the downloaded model.
 */
const MEMORY_LIMIT = { bytes: 100 * 2 ** 20, name: "a Worker's 128 MB less the runtime's share", analysis: false };
/** Steps a slice trains when the request names no number. */
const DEFAULT_SLICE_STEPS = 100;

let engine: Promise<Engine> | undefined;
const getEngine = (): Promise<Engine> => (engine ??= Engine.create(wasm));

/** An error a client can act on: its HTTP status and one line. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const json = (body: unknown, status = 200): Response => Response.json(body, { status });

/** Bad input as the core reports it is the client's to fix (400); training that diverged too (422). */
export function errorResponse(e: unknown): Response {
  if (e instanceof HttpError) return json({ error: e.message }, e.status);
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ConfigError || e instanceof TaskError || e instanceof SliceError || e instanceof CheckpointError) return json({ error: message }, 400);
  if (e instanceof TrainingError || e instanceof MemoryError) return json({ error: message }, 422);
  return json({ error: `internal error: ${message}` }, 500);
}

const FILES: Record<string, string> = {
  "config.json": "application/json",
  "metrics.jsonl": "application/x-ndjson",
  "progress.jsonl": "application/x-ndjson",
  "summary.json": "application/json",
  "model.safetensors": "application/octet-stream",
  "checkpoint.safetensors": "application/octet-stream",
};

export class RunObject {
  private readonly store: RunStore;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState) {
    this.store = new RunStore(ctx.storage);
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const path = new URL(request.url).pathname.replace(/^\/+/, "");
      if (request.method === "PUT" && path === "") return json(await this.create(await body(request)), 201);
      const m = await this.store.manifest();
      if (!m) throw new HttpError(404, "no such run: create one with POST /runs");
      if (request.method === "GET" && path === "") return json(status(m));
      if (request.method === "POST" && path === "advance") return json(await this.serially(() => this.advance(request)));
      if (request.method === "GET" && path in FILES) return new Response(await this.file(path, m), { headers: { "content-type": FILES[path]! } });
      throw new HttpError(404, `no route ${request.method} /${path} (GET the Worker's / for its routes)`);
    } catch (e) {
      return errorResponse(e);
    }
  }

  /** A new run from config keys (the names of `grok train`'s options, with underscores). */
  private async create(keys: Record<string, unknown>): Promise<Manifest> {
    if (await this.store.manifest()) throw new HttpError(409, "this run exists already");
    const overrides = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, typeof v === "boolean" ? v : String(v)]));
    const config = resolveConfig(overrides);
    if (config.init_from !== "") throw new ConfigError(`init_from '${config.init_from}': a Worker's run starts from its seed (train with --init-from on a machine with the checkpoint)`);
    // Assembled once now, so a run that cannot fit is refused before it is stored.
    (await this.assemble(config, null)).dispose();
    await this.store.create(config);
    return (await this.store.manifest())!;
  }

  /**
   * Runs `fn` after every earlier one has finished: two slices must not start from the same
   * state. (Not blockConcurrencyWhile: that resets the object when its callback throws, and
   * a slice refused for bad input must not.)
   */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async advance(request: Request): Promise<object> {
    const m = (await this.store.manifest())!;
    if (m.done) throw new HttpError(409, `the run ended at step ${m.step}: download its files`);
    const ask = await body(request);
    const steps = ask.steps === undefined ? DEFAULT_SLICE_STEPS : ask.steps;
    const budgetMs = ask.budget_ms;
    if (typeof steps !== "number" || (budgetMs !== undefined && typeof budgetMs !== "number")) throw new HttpError(400, "advance takes {\"steps\": N, \"budget_ms\": MS} (numbers)");
    const began = Date.now();
    const slice = await trainSlice(await getEngine(), m.config, await this.store.state(m), { steps, budgetMs }, { memoryLimit: MEMORY_LIMIT });
    const peakMemoryBytes = Math.max(m.peakMemoryBytes, slice.memoryBytes);
    const summary = { ...slice.summary, workers: 1 };
    const next = await this.store.commit(m, { config: m.config, step: slice.step, done: slice.done, summary, peakMemoryBytes }, slice.state, slice, m.step);
    return { ...status(next), from: m.step, latest: slice.latest, metrics: slice.metrics, slice_ms: Date.now() - began, memory_bytes: slice.memoryBytes };
  }

  private async file(name: string, m: Manifest): Promise<BodyInit> {
    if (name === "metrics.jsonl" || name === "progress.jsonl") return this.store.log(name === "metrics.jsonl" ? "metrics" : "progress");
    if (name === "summary.json") {
      if (!m.summary) throw new HttpError(404, "the run has not trained a step yet");
      return JSON.stringify(m.summary, null, 2) + "\n";
    }
    const state = await this.store.state(m);
    const run = await this.assemble(m.config, state);
    try {
      const record = run.record();
      if (name === "config.json") return JSON.stringify(record, null, 2) + "\n";
      // Fresh buffers of their own (never shared memory).
      if (name === "model.safetensors") return encodeWeights(run.model, record) as Uint8Array<ArrayBuffer>;
      if (!state) throw new HttpError(404, "the run has not trained a step yet: it has no training state");
      return state as Uint8Array<ArrayBuffer>;
    } finally {
      run.dispose();
    }
  }

  private async assemble(config: Manifest["config"], state: Uint8Array | null): Promise<Run> {
    const resume = state ? { checkpoint: readCheckpoint(state, "the run's stored state"), source: "the run's stored state" } : undefined;
    return Run.assemble(await getEngine(), config, { resume, memoryLimit: MEMORY_LIMIT });
  }
}

function status(m: Manifest): object {
  return { step: m.step, done: m.done, config: m.config, summary: m.summary, state_bytes: m.bytes, peak_memory_bytes: m.peakMemoryBytes, peak_memory: formatBytes(m.peakMemoryBytes) };
}

async function body(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "the request body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HttpError(400, "the request body must be a JSON object");
  return value as Record<string, unknown>;
}
