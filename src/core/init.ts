// Seeded initialisation with the distributions of PAPER.md. The generator is MT19937
// (rng.ts) seeded with seed + 2^32, i.e. Python's random.seed(seed + 2**32): a stream of its
// own, apart from the data split's random.seed(seed). Tensors are drawn in state-dict order;
// each gets 32-bit words that fill_normal (WASM, Box-Muller) turns into N(0, std^2).

import type { Model } from "./model.js";
import { MersenneTwister } from "./rng.js";

const INIT_STREAM = 1n << 32n;

export function initParams(model: Model, seed: number): void {
  const rng = new MersenneTwister(BigInt(seed) + INIT_STREAM);
  const { engine } = model;
  for (const e of model.layout.entries) {
    // The gradient buffer is free before training: borrow this tensor's slot for the bits
    // (aligned to 16 floats, so there is room for the even word count Box-Muller needs).
    const words = e.size + (e.size % 2);
    const bitsPtr = model.grads + 4 * e.offset;
    rng.fill(engine.u32(bitsPtr, words));
    engine.k.fill_normal(model.params + 4 * e.offset, bitsPtr, e.size, e.initStd);
  }
  model.zeroGrad();
}
