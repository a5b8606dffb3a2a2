// The WebAssembly module's exports. Compute only: every function works on memory the
// host laid out (see src/core/wasm/); nothing here allocates or keeps state. The *Layout
// enums give the byte offset of every field of the pointer tables, by name.
export { gemm_nn, gemm_nt, gemm_tn, dot, pack_panels, panels_size, gemm_nn_panels, gemm_nn_panels_gated, gemm_tn_packing, pack_scratch_floats } from "./gemm";
export { relu_forward, relu_backward, cross_entropy, cross_entropies, count_correct, sum_squares } from "./nn";
export { exp_rows, mathf_exp_rows } from "./expf";
export { adamw_step, adamw_step_at } from "./adamw";
export { fill_normal } from "./init";
export { model_forward, model_backward, DimsLayout, WeightsLayout, BatchLayout } from "./model";
export { tables_embedding, tables_forward_head, tables_forward_neurons, tables_forward_rows, tables_backward_rows, tables_backward_head, tables_backward_embedding, batch_forward, shard_loss_and_grad, shard_evaluate, neuron_logit_grads, table_grad_columns, mlp_stride, TablesLayout, FastBatchLayout } from "./fast";
export { dft_twiddles, dft_rows, dft_cols } from "./dft";
export { simd_peak } from "./calibrate";
