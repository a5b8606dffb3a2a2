// The pointer tables the WebAssembly core reads (the @unmanaged classes of assembly/model.ts
// and assembly/fast.ts), declared once here by field name and kind. The module exports the
// byte offset of every field by name (the *Layout enums beside each class); a table is
// written field by field at those offsets, so it never depends on field order, and a field
// one side lacks is an error when the engine starts.

import type { Region } from "./region.js";

/** "i32": a count written as a number; "ptr": a buffer (a Region, or null for an absent one). */
type Kind = "i32" | "ptr";

export const STRUCTS = {
  /** Model sizes. */
  Dims: { d_vocab: "i32", d_model: "i32", n_heads: "i32", d_head: "i32", d_mlp: "i32" },
  /** One pointer per parameter tensor (over the parameters, or over their gradients). */
  Weights: { W_E: "ptr", W_K: "ptr", W_Q: "ptr", W_V: "ptr", W_O: "ptr", W_in: "ptr", W_out: "ptr", W_U: "ptr" },
  /** A batch on the reference path: every activation of the last position, and its gradient. */
  Batch: {
    n: "i32", tokens: "ptr", labels: "ptr",
    x: "ptr", q: "ptr", k: "ptr", v: "ptr", attn: "ptr", z: "ptr", resid_mid: "ptr", pre: "ptr", post: "ptr", resid_post: "ptr", logits: "ptr",
    dlogits: "ptr", dresid_post: "ptr", dpost: "ptr", dresid_mid: "ptr", dz: "ptr", dq: "ptr", dk: "ptr", dv: "ptr", dx: "ptr",
  },
  /** The fast path's per-step token tables and their gradients. */
  Tables: {
    Qt: "ptr", Kt: "ptr", Vt: "ptr", S: "ptr", R: "ptr", P: "ptr", U: "ptr", WLT: "ptr", WLTp: "ptr", WLp: "ptr",
    dQt: "ptr", dKt: "ptr", dVt: "ptr", dS: "ptr", dR: "ptr", dP: "ptr", dU: "ptr", dWLT: "ptr",
  },
  /** A batch (or one shard of it) on the fast path: only what is per example. */
  FastBatch: {
    n: "i32", tokens: "ptr", labels: "ptr", attn: "ptr", post: "ptr", logits: "ptr", dlogits: "ptr", dpost: "ptr",
    dlogitsT: "ptr", da: "ptr", gather_order: "ptr", panel_rows: "i32", gather_slots: "ptr", gather_weights: "ptr", last_order: "ptr", losses: "ptr",
  },
} as const satisfies Record<string, Record<string, Kind>>;

export type StructName = keyof typeof STRUCTS;
export type FieldOf<S extends StructName> = keyof (typeof STRUCTS)[S] & string;

/** What a table holds: numbers in its i32 fields, regions (or null) in its pointers. */
export type StructValues<S extends StructName> = {
  [F in FieldOf<S>]: (typeof STRUCTS)[S][F] extends "ptr" ? Region | null : number;
};

/** Where the module puts each field of one struct. */
export interface StructLayout {
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
}

export class LayoutError extends Error {}

const REBUILD = "the core and this host come from different builds: rebuild with `npm run build`";

/**
 * The layouts the module reports (its `<Struct>Layout` exports: one global per field, plus
 * `__size`), checked against STRUCTS: the same fields, at distinct 4-byte slots that fill
 * the struct.
 */
export function readLayouts(exports: Record<string, unknown>): Record<StructName, StructLayout> {
  const out = {} as Record<StructName, StructLayout>;
  for (const name of Object.keys(STRUCTS) as StructName[]) {
    const reported = exports[`${name}Layout`] as Record<string, WebAssembly.Global> | undefined;
    if (!reported) throw new LayoutError(`the WebAssembly core exports no layout of ${name}: ${REBUILD}`);
    const value = (field: string): number => Number(reported[field]!.value);
    const fields = Object.keys(STRUCTS[name]);
    const theirs = Object.keys(reported).filter((f) => f !== "__size");
    for (const f of fields) if (!theirs.includes(f)) throw new LayoutError(`the WebAssembly core's ${name} has no field '${f}' (it has ${theirs.join(", ")}): ${REBUILD}`);
    for (const f of theirs) if (!fields.includes(f)) throw new LayoutError(`the WebAssembly core's ${name} has a field '${f}' this host does not know: ${REBUILD}`);
    const size = value("__size");
    const offsets = Object.fromEntries(fields.map((f) => [f, value(f)]));
    const slots = new Set(Object.values(offsets));
    if (size !== 4 * fields.length || slots.size !== fields.length || [...slots].some((o) => o % 4 !== 0 || o < 0 || o >= size)) {
      throw new LayoutError(`the WebAssembly core's ${name} is not ${fields.length} distinct 4-byte fields in ${size} bytes (${JSON.stringify(offsets)}): ${REBUILD}`);
    }
    out[name] = { size, offsets };
  }
  return out;
}

/** The 32-bit words of one table: each field's value at its offset. Every field must be given. */
export function tableWords<S extends StructName>(name: S, layout: StructLayout, values: StructValues<S>): Uint32Array {
  const given = Object.keys(values), fields = Object.keys(layout.offsets);
  const wrong = [...fields.filter((f) => !given.includes(f)).map((f) => `no value for '${f}'`), ...given.filter((f) => !fields.includes(f)).map((f) => `no field '${f}'`)];
  if (wrong.length > 0) throw new LayoutError(`${name} table: ${wrong.join(", ")}`);
  const words = new Uint32Array(layout.size / 4);
  for (const [field, v] of Object.entries(values) as [string, Region | number | null][]) {
    const word = v === null ? 0 : typeof v === "number" ? v : v.ptr;
    if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) throw new RangeError(`${field}: ${word} does not fit a 32-bit field`);
    words[layout.offsets[field]! / 4] = word;
  }
  return words;
}
