// The parameter layout: every weight tensor of the model in one flat f32 buffer, under the
// PyTorch state_dict names and shapes, so checkpoints map one to one. Gradients and the
// AdamW moments use the same layout in buffers of their own.

export interface Dims {
  d_vocab: number;
  d_model: number;
  n_heads: number;
  d_head: number;
  d_mlp: number;
}

/** State-dict order of the paper's code (and of the golden fixtures). */
export const PARAM_NAMES = [
  "embed.W_E",
  "blocks.0.attn.W_K",
  "blocks.0.attn.W_Q",
  "blocks.0.attn.W_V",
  "blocks.0.attn.W_O",
  "blocks.0.mlp.W_in",
  "blocks.0.mlp.W_out",
  "unembed.W_U",
] as const;

export type ParamName = (typeof PARAM_NAMES)[number];

export interface ParamEntry {
  readonly name: ParamName;
  readonly shape: readonly number[];
  readonly size: number;
  /** Offset in floats from the start of the buffer (a multiple of 16: 64-byte aligned). */
  readonly offset: number;
  /** Standard deviation of the N(0, std^2) initialisation (docs/model.md, "Initialisation"). */
  readonly initStd: number;
}

export interface ParamLayout {
  readonly dims: Dims;
  readonly entries: readonly ParamEntry[];
  readonly total: number;
}

export function paramShape(name: ParamName, d: Dims): number[] {
  switch (name) {
    case "embed.W_E": return [d.d_model, d.d_vocab];
    case "blocks.0.attn.W_K":
    case "blocks.0.attn.W_Q":
    case "blocks.0.attn.W_V": return [d.n_heads, d.d_head, d.d_model];
    case "blocks.0.attn.W_O": return [d.d_model, d.n_heads * d.d_head];
    case "blocks.0.mlp.W_in": return [d.d_mlp, d.d_model];
    case "blocks.0.mlp.W_out": return [d.d_model, d.d_mlp];
    case "unembed.W_U": return [d.d_model, d.d_vocab];
  }
}

const ALIGN = 16;

export function paramLayout(dims: Dims): ParamLayout {
  let offset = 0;
  const entries = PARAM_NAMES.map((name) => {
    const shape = paramShape(name, dims);
    const size = shape.reduce((x, y) => x * y, 1);
    // W_E: N(0, 1/d_vocab); every other weight: N(0, 1/d_model).
    const initStd = 1 / Math.sqrt(name === "embed.W_E" ? dims.d_vocab : dims.d_model);
    const entry: ParamEntry = { name, shape, size, offset, initStd };
    offset += Math.ceil(size / ALIGN) * ALIGN;
    return entry;
  });
  return { dims, entries, total: offset };
}

export function entryOf(layout: ParamLayout, name: string): ParamEntry {
  const e = layout.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no parameter named '${name}'`);
  return e;
}

/**
 * The modules of the paper's transfer experiments, by name: "transformer" is the attention
 * and the MLP (PG-T), "embed" the embedding (PG-E).
 */
export const MODULES: Readonly<Record<string, readonly ParamName[]>> = {
  embed: ["embed.W_E"],
  attn: ["blocks.0.attn.W_K", "blocks.0.attn.W_Q", "blocks.0.attn.W_V", "blocks.0.attn.W_O"],
  mlp: ["blocks.0.mlp.W_in", "blocks.0.mlp.W_out"],
  transformer: ["blocks.0.attn.W_K", "blocks.0.attn.W_Q", "blocks.0.attn.W_V", "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out"],
  unembed: ["unembed.W_U"],
  all: PARAM_NAMES,
};

export class ModuleError extends Error {}

/** The tensors of a comma-separated list of modules ("" is none), in state-dict order. */
export function moduleParams(spec: string, option = "load"): ParamName[] {
  const names = spec.split(",").map((m) => m.trim()).filter((m) => m !== "");
  const unknown = names.find((m) => !(m in MODULES));
  if (unknown !== undefined) throw new ModuleError(`--${option} '${spec}': unknown module '${unknown}' (modules: ${Object.keys(MODULES).join(", ")})`);
  const chosen = new Set(names.flatMap((m) => MODULES[m]!));
  return PARAM_NAMES.filter((n) => chosen.has(n));
}
