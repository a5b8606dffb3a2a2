// Model weights <-> safetensors bytes, under the PyTorch names and shapes, with the run's
// config in __metadata__ (loadable with Python's safetensors.torch.load_file).

import type { Model } from "../model/model.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "./safetensors.js";

export const CHECKPOINT_FORMAT = "grokwasm-1";

export function encodeCheckpoint(model: Model, config: object): Uint8Array {
  const tensors = model.layout.entries.map((e) => ({ name: e.name, shape: [...e.shape], data: model.tensor(e.name) }));
  return encodeSafetensors(tensors, { format: "pt", grokwasm: CHECKPOINT_FORMAT, config: JSON.stringify(config) });
}

/**
 * Copies the weights of a safetensors checkpoint into `model`: all of them, or only `names`.
 * A missing tensor or a shape that differs from the model's is an error naming both.
 */
export function loadCheckpoint(model: Model, bytes: Uint8Array, names?: readonly string[], source = "checkpoint"): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  for (const e of model.layout.entries) {
    if (names && !names.includes(e.name)) continue;
    const t = tensors.get(e.name);
    if (!t) throw new SafetensorsError(`${source} has no tensor '${e.name}' (it has: ${[...tensors.keys()].join(", ")})`);
    if (t.shape.join(",") !== e.shape.join(",")) {
      throw new SafetensorsError(`${source}: '${e.name}' has shape [${t.shape}], this model needs [${e.shape}]: train with the checkpoint's p and model sizes (see its config)`);
    }
    model.setTensor(e.name, t.data);
  }
  return metadata;
}
