// safetensors encode/decode (https://github.com/huggingface/safetensors, format section):
// 8-byte little-endian header length N, N bytes of JSON header padded with spaces to a
// multiple of 8, then raw little-endian row-major tensor data. Bytes in, bytes out: no files.
//
// Decoding trusts nothing: the header length against the file and a cap, the header's JSON
// and its schema (dtype, shape, data_offsets as integers), each tensor's byte count against
// its shape, and the data offsets tiling the data exactly: from 0, no overlap, no gap,
// nothing after the last tensor.

import { z } from "zod";

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends Error {}

/** The largest header we read (the safetensors library's own limit). */
export const MAX_HEADER_BYTES = 100_000_000;

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

const size = z.number().int().nonnegative();
const TensorEntry = z.strictObject({
  dtype: z.string(),
  shape: z.array(size),
  data_offsets: z.tuple([size, size]),
});
const Metadata = z.record(z.string(), z.string());

/** The first problem zod found, as "at <path>: <what>". */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.length ? `at ${issue.path.join(".")}: ` : ""}${issue.message.replace(/^Invalid input: /, "")}`;
}

const failure = (source: string) => (what: string): never => {
  throw new SafetensorsError(`${source} is not a valid safetensors file: ${what}`);
};

/** The length of the header that starts a safetensors file (its first 8 bytes), checked against the cap. */
export function headerLength(first8: Uint8Array, fileLength: number, source = "the file"): number {
  const fail = failure(source);
  if (fileLength < 8 || first8.length < 8) fail(`only ${fileLength} bytes`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileLength - 8)) fail(`the header length ${n} exceeds the file (${fileLength} bytes)`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`the header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  return Number(n);
}

/** The JSON header of a safetensors file, from its first 8 + headerLength bytes (not yet checked against a schema). */
export function decodeHeader(bytes: Uint8Array, fileLength = bytes.length, source = "the file"): Record<string, unknown> {
  const fail = failure(source);
  const n = headerLength(bytes, fileLength, source);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    fail("the header is not UTF-8 JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("the header is not a JSON object");
  return header as Record<string, unknown>;
}

/** Decodes a safetensors file of F32 tensors; a SafetensorsError names what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, source = "the file"): DecodedSafetensors {
  const fail = failure(source);
  const header = decodeHeader(bytes, bytes.length, source);
  const headerEnd = 8 + headerLength(bytes, bytes.length, source);
  const entries = Object.entries(header);
  let metadata: Record<string, string> = {};
  const tensors: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of entries) {
    if (name === "__metadata__") {
      const m = Metadata.safeParse(info);
      if (!m.success) fail(`__metadata__ ${firstIssue(m.error)} (metadata maps strings to strings)`);
      metadata = m.data!;
      continue;
    }
    const t = TensorEntry.safeParse(info);
    if (!t.success) fail(`tensor '${name}' ${firstIssue(t.error)} (each tensor has dtype, shape and data_offsets)`);
    const { dtype, shape, data_offsets: [begin, end] } = t.data!;
    if (dtype !== "F32") fail(`tensor '${name}' has dtype ${dtype}: only F32 is read (convert with tensor.float())`);
    const count = shape.reduce((x, y) => x * y, 1);
    if (end < begin || end - begin !== count * 4) fail(`tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] needs ${count * 4}`);
    tensors.push({ name, dtype, shape, begin, end });
  }
  // The tensors tile the data: sorted by offset, each starts where the previous ended.
  const dataLength = bytes.length - headerEnd;
  let at = 0;
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin !== at) fail(t.begin < at ? `tensor '${t.name}' overlaps the tensor before it (its data starts at ${t.begin}, before ${at})` : `a gap of ${t.begin - at} bytes before tensor '${t.name}'`);
    at = t.end;
  }
  if (at !== dataLength) fail(at > dataLength ? `the tensors need ${at} bytes of data, the file holds ${dataLength} (truncated?)` : `${dataLength - at} bytes after the last tensor`);
  const out = new Map<string, NamedTensor>();
  for (const t of tensors) {
    const src = new DataView(bytes.buffer, bytes.byteOffset + headerEnd + t.begin, t.end - t.begin);
    const data = new Float32Array((t.end - t.begin) / 4);
    for (let i = 0; i < data.length; i++) data[i] = src.getFloat32(i * 4, true);
    out.set(t.name, { name: t.name, shape: t.shape, data });
  }
  return { tensors: out, metadata };
}
