// The Fourier progress measures tracked during training (docs/model.md, "Fourier lens"):
// FFD and FCR of the number-token embedding W_E[:, :p] and of the neuron-logit map
// W_L = W_U[:, :p]ᵀ W_out, and the weight norm. Buffers are laid out once per run; one
// measurement costs two small products and two DFTs (well under a millisecond at p = 97).

import type { Model } from "../model/model.js";
import type { Region } from "../wasm/region.js";
import { Dft } from "./dft.js";
import { DEFAULT_ETA, fcr, ffd, frequencyNorms, type FrequencyNorms } from "./measures.js";

export interface ProgressMeasures {
  ffd_E: number;
  fcr_E: number;
  ffd_L: number;
  fcr_L: number;
  weight_norm: number;
}

export class FourierProgress {
  private readonly dft: Dft;
  private readonly WL: Region<"f32">;

  constructor(private readonly model: Model, readonly p: number, readonly eta = DEFAULT_ETA) {
    this.dft = new Dft(model.engine, p);
    this.WL = model.engine.alloc("f32", p * model.dims.d_mlp);
  }

  /** mu/nu of W_E over its p number-token columns (norms over d_model). */
  embeddingNorms(): FrequencyNorms {
    const { d_model, d_vocab } = this.model.dims;
    return frequencyNorms(this.dft.ofRows(this.model.buffer("params", "embed.W_E"), d_model, d_vocab));
  }

  /** mu/nu of W_L = W_U[:, :p]ᵀ W_out along its p axis (norms over d_mlp). */
  neuronLogitNorms(): FrequencyNorms {
    const { model, p } = this;
    const { d_model: dm, d_vocab: dv, d_mlp: dmlp } = model.dims;
    const W_U = model.buffer("params", "unembed.W_U"), W_out = model.buffer("params", "blocks.0.mlp.W_out");
    model.engine.k.gemm_tn(p, dmlp, dm, W_U.ptr, dv, W_out.ptr, dmlp, this.WL.ptr, dmlp, false);
    return frequencyNorms(this.dft.ofCols(this.WL, dmlp));
  }

  measure(): ProgressMeasures {
    const E = this.embeddingNorms(), L = this.neuronLogitNorms();
    return { ffd_E: ffd(E, this.eta), fcr_E: fcr(E), ffd_L: ffd(L, this.eta), fcr_L: fcr(L), weight_norm: this.model.weightNorm() };
  }
}
