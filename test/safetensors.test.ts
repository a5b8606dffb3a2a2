// safetensors encoding: round trip, the format's layout rules, and corrupt input.

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "../src/core/io/safetensors.js";
import { CheckpointError, loadWeights, readCheckpoint } from "../src/core/io/checkpoint.js";
import { PARAM_NAMES } from "../src/core/model/params.js";
import { Model } from "../src/core/model/model.js";
import { fixtureBytes, fixtureConfig, newEngine } from "./helpers.js";

const tensors = [
  { name: "embed.W_E", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
  { name: "unembed.W_U", shape: [3], data: new Float32Array([0.25, 1e-20, -3]) },
];

test("encode then decode gives back names, shapes, values and metadata", () => {
  const bytes = encodeSafetensors(tensors, { format: "pt", config: '{"p":7}' });
  const { tensors: back, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt", config: '{"p":7}' });
  for (const t of tensors) {
    assert.deepEqual(back.get(t.name)!.shape, t.shape);
    assert.deepEqual(back.get(t.name)!.data, t.data);
  }
});

test("the header length is little-endian u64, the header is padded to 8 bytes, data is little-endian f32", () => {
  const bytes = encodeSafetensors(tensors, {});
  const view = new DataView(bytes.buffer);
  const n = Number(view.getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header["unembed.W_U"], { dtype: "F32", shape: [3], data_offsets: [24, 36] });
  assert.equal(view.getFloat32(8 + n + 20, true), -6.5);
  assert.equal(bytes.length, 8 + n + 36);
});

test("truncated or foreign files are rejected with a reason", () => {
  const bytes = encodeSafetensors(tensors, {});
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4)), (e: Error) => e instanceof SafetensorsError && /truncated/.test(e.message));
  assert.throws(() => decodeSafetensors(new TextEncoder().encode("hello world, not a checkpoint")), SafetensorsError);
  assert.throws(() => decodeSafetensors(new Uint8Array(3)), /only 3 bytes/);
});

test("a checkpoint of another model size is rejected naming the tensor, both shapes and the fix", async () => {
  const tiny = new Model(await newEngine(), fixtureConfig("tiny"));
  const full = readCheckpoint(fixtureBytes("full", "weights.safetensors"), "full/weights.safetensors");
  assert.throws(() => loadWeights(tiny, full, PARAM_NAMES, "full/weights.safetensors"),
    (e: Error) => e instanceof CheckpointError && /full\/weights.safetensors: 'embed.W_E' has shape \[128,102\], this model needs \[16,16\]: train with the checkpoint's p/.test(e.message));
  const partial = readCheckpoint(encodeSafetensors([{ name: "embed.W_E", shape: [16, 16], data: new Float32Array(256) }], {}), "partial");
  assert.throws(() => loadWeights(tiny, partial, PARAM_NAMES, "partial"), /partial has no tensor 'blocks.0.attn.W_K'/);
});
