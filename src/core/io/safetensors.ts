// safetensors encode/decode (https://github.com/huggingface/safetensors, format section):
// 8-byte little-endian header length N, N bytes of JSON header padded with spaces to a
// multiple of 8, then raw little-endian row-major tensor data. Bytes in, bytes out: no files.

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends Error {}

/** Encodes float32 tensors (in the given order) with string metadata. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.data.length * 4;
    if (t.shape.reduce((x, y) => x * y, 1) !== t.data.length) throw new SafetensorsError(`${t.name}: shape [${t.shape}] does not match ${t.data.length} values`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    const dst = new DataView(out.buffer, at, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) dst.setFloat32(i * 4, t.data[i]!, true);
    at += t.data.length * 4;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Decodes a safetensors file holding F32 tensors; throws SafetensorsError on a corrupt one. */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (bytes.length < 8) throw new SafetensorsError(`not a safetensors file: only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new SafetensorsError(`not a safetensors file: header length ${n} exceeds the file (${bytes.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch {
    throw new SafetensorsError("not a safetensors file: the header is not JSON");
  }
  const dataStart = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== "F32") throw new SafetensorsError(`${name}: dtype ${dtype} is not supported (only F32)`);
    const [begin, end] = data_offsets;
    const count = shape.reduce((x, y) => x * y, 1);
    if (end - begin !== count * 4 || dataStart + end > bytes.length) throw new SafetensorsError(`${name}: data_offsets [${begin}, ${end}] do not fit shape [${shape}] in a ${bytes.length}-byte file (truncated?)`);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, count * 4);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = src.getFloat32(i * 4, true);
    tensors.set(name, { name, shape, data });
  }
  return { tensors, metadata };
}
