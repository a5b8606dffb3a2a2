// The client of a grokwasm Worker (workers/cloudflare): creates a run, advances it slice by
// slice, and downloads its files. The run's state lives in the Worker's Durable Object, so
// a request that fails on the way (a dropped connection, a Worker restarted) is tried again,
// and a client that stops leaves the run where it was, to be picked up with its id.

import type { RunConfig } from "../core/config.js";
import type { Metrics, Summary } from "../core/train.js";

/** A request the Worker refused or could not answer. `badInput`: the request's fault (4xx). */
export class EdgeError extends Error {
  constructor(message: string, readonly badInput: boolean) {
    super(message);
  }
}

export interface EdgeStatus {
  id: string;
  step: number;
  done: boolean;
  config: RunConfig;
  summary: (Summary & { workers: number }) | null;
  peak_memory_bytes: number;
}

export interface EdgeSlice extends EdgeStatus {
  from: number;
  latest: Metrics;
  metrics: Metrics[];
  slice_ms: number;
  memory_bytes: number;
}

/** Tries after a failed request wait 1, 2, 4, 8, 16 s. */
const RETRIES = 5;

export class EdgeRun {
  private constructor(readonly base: string, readonly id: string) {}

  /** A new run of `config` on the Worker at `url`. */
  static async create(url: string, config: RunConfig): Promise<{ run: EdgeRun; status: EdgeStatus }> {
    const base = baseOf(url);
    // Not retried: a retry after a lost answer would make a second run.
    const status = (await request(base, "/runs", { method: "POST", body: JSON.stringify(config) }, 0)) as EdgeStatus;
    return { run: new EdgeRun(base, status.id), status };
  }

  /** A run made earlier (by its id). */
  static attach(url: string, id: string): EdgeRun {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new EdgeError(`--run takes the id a run was created with (64 hex digits), got '${id}'`, true);
    return new EdgeRun(baseOf(url), id);
  }

  async status(): Promise<EdgeStatus> {
    return { ...((await request(this.base, `/runs/${this.id}`, {}, RETRIES)) as EdgeStatus), id: this.id };
  }

  /** Trains up to `steps` steps (the Worker may stop at `budgetMs` by its clock). */
  async advance(steps: number, budgetMs?: number): Promise<EdgeSlice> {
    const body = JSON.stringify({ steps, ...(budgetMs === undefined ? {} : { budget_ms: budgetMs }) });
    return { ...((await request(this.base, `/runs/${this.id}/advance`, { method: "POST", body }, RETRIES)) as EdgeSlice), id: this.id };
  }

  async file(name: string): Promise<Uint8Array> {
    return (await request(this.base, `/runs/${this.id}/${name}`, {}, RETRIES, true)) as Uint8Array;
  }
}

function baseOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EdgeError(`'${url}' is not a URL: give the Worker's address, e.g. https://grokwasm.<account>.workers.dev or http://127.0.0.1:8787`, true);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new EdgeError(`'${url}' is not an http(s) URL`, true);
  return parsed.href.replace(/\/+$/, "");
}

async function request(base: string, path: string, init: RequestInit, retries: number, bytes = false): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const response = await fetch(base + path, { ...init, headers: { "content-type": "application/json" } });
      if (response.ok) return bytes ? new Uint8Array(await response.arrayBuffer()) : await response.json();
      const text = await response.text();
      let message = text.trim().split("\n")[0] || response.statusText;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // not JSON: a proxy's or the platform's page, its first line says enough
      }
      if (response.status < 500) throw new EdgeError(`the Worker refused ${init.method ?? "GET"} ${path} (${response.status}): ${message}`, true);
      failure = `${response.status}: ${message}`;
    } catch (e) {
      if (e instanceof EdgeError) throw e;
      failure = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    }
    if (attempt >= retries) throw new EdgeError(`${init.method ?? "GET"} ${base}${path} failed (${failure})${retries > 0 ? ` after ${retries + 1} tries` : ""}`, false);
    await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
  }
}
