// Our weights in TransformerLens' HookedTransformer names and layouts, with the config it
// needs, so a trained model opens in the interpretability tools researchers use:
//
//   ours (PyTorch code of the paper)                 TransformerLens
//   embed.W_E          [d_model, d_vocab]       ->   embed.W_E          [d_vocab, d_model]    (transposed)
//   (none: no positional embedding)             ->   pos_embed.W_pos    [n_ctx, d_model]      (zeros)
//   blocks.0.attn.W_Q  [heads, d_head, d_model] ->   blocks.0.attn.W_Q  [heads, d_model, d_head] (last two swapped; K, V alike)
//   blocks.0.attn.W_O  [d_model, heads*d_head]  ->   blocks.0.attn.W_O  [heads, d_head, d_model]
//   blocks.0.mlp.W_in  [d_mlp, d_model]         ->   blocks.0.mlp.W_in  [d_model, d_mlp]      (transposed)
//   blocks.0.mlp.W_out [d_model, d_mlp]         ->   blocks.0.mlp.W_out [d_mlp, d_model]      (transposed)
//   unembed.W_U        [d_model, d_vocab]       ->   unembed.W_U        [d_model, d_vocab]    (as is)
//   (no biases)                                 ->   b_Q, b_K, b_V, b_O, b_in, b_out, b_U     (zeros)

import { CONTEXT } from "../data/data.js";
import type { Model } from "../model/model.js";
import type { NamedTensor } from "./safetensors.js";

/** HookedTransformerConfig's arguments for this model. */
export function transformerLensConfig(model: Model): Record<string, unknown> {
  const { d_model, d_head, n_heads, d_mlp, d_vocab } = model.dims;
  return {
    n_layers: 1, d_model, d_head, n_heads, d_mlp, d_vocab, d_vocab_out: d_vocab, n_ctx: CONTEXT,
    act_fn: "relu", normalization_type: null, attn_only: false, positional_embedding_type: "standard",
  };
}

// out[j, i] = x[i, j] for x [rows, cols].
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}

/** The model's tensors under TransformerLens' names and layouts (zeros where it has parameters we do not). */
export function transformerLensTensors(model: Model): NamedTensor[] {
  const { d_model: dm, d_head: dh, n_heads: H, d_mlp: dmlp, d_vocab: dv } = model.dims;
  const t = (name: string): Float32Array => model.tensor(name);
  // [H, dh, dm] -> [H, dm, dh]: each head's matrix transposed.
  const perHead = (x: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    for (let h = 0; h < H; h++) out.set(transpose(x.subarray(h * dh * dm, (h + 1) * dh * dm), dh, dm), h * dm * dh);
    return out;
  };
  // W_O [dm, H*dh] -> [H, dh, dm]
  const W_O = transpose(t("blocks.0.attn.W_O"), dm, H * dh);
  const zeros = (...shape: number[]): NamedTensor["data"] => new Float32Array(shape.reduce((a, b) => a * b, 1));
  return [
    { name: "embed.W_E", shape: [dv, dm], data: transpose(t("embed.W_E"), dm, dv) },
    { name: "pos_embed.W_pos", shape: [CONTEXT, dm], data: zeros(CONTEXT, dm) },
    ...(["Q", "K", "V"] as const).flatMap((x) => [
      { name: `blocks.0.attn.W_${x}`, shape: [H, dm, dh], data: perHead(t(`blocks.0.attn.W_${x}`)) },
      { name: `blocks.0.attn.b_${x}`, shape: [H, dh], data: zeros(H, dh) },
    ]),
    { name: "blocks.0.attn.W_O", shape: [H, dh, dm], data: W_O },
    { name: "blocks.0.attn.b_O", shape: [dm], data: zeros(dm) },
    { name: "blocks.0.mlp.W_in", shape: [dm, dmlp], data: transpose(t("blocks.0.mlp.W_in"), dmlp, dm) },
    { name: "blocks.0.mlp.b_in", shape: [dmlp], data: zeros(dmlp) },
    { name: "blocks.0.mlp.W_out", shape: [dmlp, dm], data: transpose(t("blocks.0.mlp.W_out"), dm, dmlp) },
    { name: "blocks.0.mlp.b_out", shape: [dm], data: zeros(dm) },
    { name: "unembed.W_U", shape: [dm, dv], data: Float32Array.from(t("unembed.W_U")) },
    { name: "unembed.b_U", shape: [dv], data: zeros(dv) },
  ];
}
