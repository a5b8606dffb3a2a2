// Seeded initialisation with the distributions of docs/model.md. The generator is MT19937
// (data/rng.ts) seeded with seed + 2^32, i.e. Python's random.seed(seed + 2**32): a stream
// of its own, apart from the data split's random.seed(seed). Tensors are drawn in state-dict
// order; each gets 32-bit words that fill_normal (WASM, Box-Muller) turns into N(0, std^2).

import { MersenneTwister } from "../data/rng.js";
import type { Model } from "./model.js";

const INIT_STREAM = 1n << 32n;

export function initParams(model: Model, seed: number): void {
  const rng = new MersenneTwister(BigInt(seed) + INIT_STREAM);
  const { engine } = model;
  // Box-Muller turns word pairs into pairs of normals: an even word count per tensor.
  const largest = Math.max(...model.layout.entries.map((e) => e.size + (e.size % 2)));
  const mark = engine.mark();
  try {
    const bits = engine.alloc("u32", largest);
    for (const e of model.layout.entries) {
      const words = bits.at(0, e.size + (e.size % 2));
      rng.fill(words.view());
      engine.k.fill_normal(model.buffer("params", e.name).ptr, words.ptr, e.size, e.initStd);
    }
  } finally {
    engine.release(mark);
  }
}
