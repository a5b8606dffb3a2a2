// The pointer tables handed to WebAssembly: declared once by field name (src/core/wasm/
// layout.ts), written at the offsets the module exports for each field. A field missing on
// either side, or two fields in one slot, stops the engine; a table is written by name.

import { test } from "node:test";
import assert from "node:assert/strict";
import { LayoutError, readLayouts, STRUCTS, tableWords, type StructName } from "../src/core/wasm/layout.js";
import { readWasm } from "../src/node/wasm.js";
import { newEngine } from "./helpers.js";

const NAMES = Object.keys(STRUCTS) as StructName[];

test("every field of every table sits where the module says, in declaration order, and fills the struct", async () => {
  for (const build of ["release", "shared", "debug"] as const) {
    const module = await WebAssembly.compile(readWasm(build));
    const globals = WebAssembly.Module.exports(module).filter((e) => e.kind === "global").map((e) => e.name);
    for (const name of NAMES) {
      const declared = Object.keys(STRUCTS[name]);
      const exported = globals.filter((g) => g.startsWith(`${name}Layout.`)).map((g) => g.slice(name.length + 7)).filter((f) => f !== "__size");
      assert.deepEqual(exported.sort(), [...declared].sort(), `${build}: ${name} fields`);
    }
  }
  const engine = await newEngine();
  for (const name of NAMES) {
    const { size, offsets } = engine.layout(name);
    const declared = Object.keys(STRUCTS[name]);
    assert.equal(size, 4 * declared.length, `${name} size`);
    declared.forEach((field, i) => assert.equal(offsets[field], 4 * i, `${name}.${field}`));
  }
});

// A stand-in for the module's exports: `<Struct>Layout` objects of globals.
function exportsWith(change: (name: StructName, fields: Record<string, number>) => void): Record<string, unknown> {
  return Object.fromEntries(NAMES.map((name) => {
    const fields: Record<string, number> = Object.fromEntries(Object.keys(STRUCTS[name]).map((f, i) => [f, 4 * i]));
    fields.__size = 4 * Object.keys(STRUCTS[name]).length;
    change(name, fields);
    return [`${name}Layout`, Object.fromEntries(Object.entries(fields).map(([f, v]) => [f, new WebAssembly.Global({ value: "i32" }, v)]))];
  }));
}

test("a core whose tables differ from the host's is refused with a message naming the field", () => {
  assert.doesNotThrow(() => readLayouts(exportsWith(() => {})));
  const cases: [string, (name: StructName, f: Record<string, number>) => void, RegExp][] = [
    ["missing field", (n, f) => { if (n === "Weights") delete f.W_Q; }, /Weights has no field 'W_Q'/],
    ["unknown field", (n, f) => { if (n === "FastBatch") f.extra = 48; }, /FastBatch has a field 'extra' this host does not know/],
    ["two fields in one slot", (n, f) => { if (n === "Tables") f.Kt = f.Qt!; }, /Tables is not 18 distinct 4-byte fields/],
    ["a larger struct", (n, f) => { if (n === "Dims") f.__size = 24; }, /Dims is not 5 distinct 4-byte fields in 24 bytes/],
  ];
  for (const [what, change, message] of cases) {
    assert.throws(() => readLayouts(exportsWith(change)), (e: Error) => e instanceof LayoutError && message.test(e.message) && /rebuild with `npm run build`/.test(e.message), what);
  }
  assert.throws(() => readLayouts({}), /exports no layout of Dims/);
});

test("a table is written by field name: swapped slots still put each value in its own field", () => {
  const swapped = readLayouts(exportsWith((n, f) => { if (n === "Dims") [f.d_model, f.d_mlp] = [f.d_mlp!, f.d_model!]; }));
  const words = tableWords("Dims", swapped.Dims, { d_vocab: 102, d_model: 128, n_heads: 4, d_head: 32, d_mlp: 512 });
  assert.deepEqual([...words], [102, 512, 4, 32, 128]);
  assert.throws(() => tableWords("Dims", swapped.Dims, { d_vocab: 1, d_model: 2, n_heads: 3, d_head: 4 } as never), /Dims table: no value for 'd_mlp'/);
});

test("the kernels read what the host wrote: a table round-trips through the module's own reads", async () => {
  // Weights over the parameters, read back with the core's sum_squares at each field's pointer.
  const engine = await newEngine();
  const tensors = Object.keys(STRUCTS.Weights).map((_, i) => {
    const r = engine.alloc("f32", 4);
    r.fill(i + 1);
    return r;
  });
  const table = engine.struct("Weights", Object.fromEntries(Object.keys(STRUCTS.Weights).map((f, i) => [f, tensors[i]!])) as never);
  const { offsets } = engine.layout("Weights");
  Object.keys(STRUCTS.Weights).forEach((field, i) => {
    const ptr = table.view()[offsets[field]! / 4]!;
    assert.equal(engine.k.sum_squares(ptr, 4), 4 * (i + 1) ** 2, field);
  });
});
