// A run's state in a Durable Object's storage. Key-value storage holds values of at most
// 128 KiB, and a training state is megabytes (2.7 MB at p = 97), so the state is stored in
// chunks under a generation number: a slice writes the new generation's chunks, then in one
// put (atomic) the manifest that names it together with the slice's log lines, then deletes
// the old chunks. A request that dies half way leaves the previous generation whole, and
// the run goes on from it: the write-then-rename of a file system, in a key-value store.

import type { ProgressPoint } from "../../src/core/analysis.js";
import type { RunConfig } from "../../src/core/config.js";
import type { Metrics, Summary } from "../../src/core/train.js";

/** Under the 128 KiB limit of a value, with room for its serialisation. */
const CHUNK_BYTES = 120 * 1024;
/** Keys one put may write. */
const PUT_KEYS = 128;

export interface Manifest {
  config: RunConfig;
  step: number;
  done: boolean;
  /** The generation of the stored state (0: none yet, the run starts from its seed). */
  generation: number;
  chunks: number;
  bytes: number;
  summary: Summary | null;
  /** The engine's WebAssembly memory at its largest so far (bytes). */
  peakMemoryBytes: number;
}

const pad = (n: number): string => String(n).padStart(10, "0");
const chunkKey = (generation: number, i: number): string => `state/${pad(generation)}/${pad(i)}`;

export class RunStore {
  constructor(private readonly storage: DurableObjectStorage) {}

  manifest(): Promise<Manifest | undefined> {
    return this.storage.get<Manifest>("manifest");
  }

  create(config: RunConfig): Promise<void> {
    const manifest: Manifest = { config, step: 0, done: false, generation: 0, chunks: 0, bytes: 0, summary: null, peakMemoryBytes: 0 };
    return this.storage.put("manifest", manifest);
  }

  /** The stored training state, or null before the first slice. */
  async state(m: Manifest): Promise<Uint8Array | null> {
    if (m.generation === 0) return null;
    const keys = Array.from({ length: m.chunks }, (_, i) => chunkKey(m.generation, i));
    const out = new Uint8Array(m.bytes);
    let at = 0;
    for (let i = 0; i < keys.length; i += PUT_KEYS) {
      const got = await this.storage.get<Uint8Array>(keys.slice(i, i + PUT_KEYS));
      for (const key of keys.slice(i, i + PUT_KEYS)) {
        const chunk = got.get(key);
        if (!chunk) throw new Error(`the stored state lacks ${key}: the Durable Object's storage is damaged`);
        out.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    if (at !== m.bytes) throw new Error(`the stored state holds ${at} bytes, its manifest says ${m.bytes}: the Durable Object's storage is damaged`);
    return out;
  }

  /** Stores a slice's outcome: its state, its log lines (keyed by the step it began at), the new manifest. */
  async commit(old: Manifest, next: Omit<Manifest, "generation" | "chunks" | "bytes">, state: Uint8Array, lines: { metrics: Metrics[]; progress: ProgressPoint[] }, from: number): Promise<Manifest> {
    const generation = old.generation + 1;
    const chunks: Record<string, Uint8Array> = {};
    for (let i = 0, at = 0; at < state.byteLength; i++, at += CHUNK_BYTES) chunks[chunkKey(generation, i)] = state.slice(at, at + CHUNK_BYTES);
    const entries = Object.entries(chunks);
    for (let i = 0; i < entries.length; i += PUT_KEYS) await this.storage.put(Object.fromEntries(entries.slice(i, i + PUT_KEYS)));
    const manifest: Manifest = { ...next, generation, chunks: entries.length, bytes: state.byteLength };
    const log: Record<string, string> = {};
    if (lines.metrics.length > 0) log[`metrics/${pad(from)}`] = lines.metrics.map((m) => JSON.stringify(m) + "\n").join("");
    if (lines.progress.length > 0) log[`progress/${pad(from)}`] = lines.progress.map((p) => JSON.stringify(p) + "\n").join("");
    await this.storage.put({ manifest, ...log });
    if (old.generation > 0) {
      const stale = Array.from({ length: old.chunks }, (_, i) => chunkKey(old.generation, i));
      for (let i = 0; i < stale.length; i += PUT_KEYS) await this.storage.delete(stale.slice(i, i + PUT_KEYS));
    }
    return manifest;
  }

  /** metrics.jsonl or progress.jsonl: every slice's lines, in step order. */
  async log(name: "metrics" | "progress"): Promise<string> {
    const parts = await this.storage.list<string>({ prefix: `${name}/` });
    return [...parts.values()].join("");
  }
}
