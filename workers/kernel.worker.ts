// A worker thread of the pool: attaches its own instance of the core to the host's shared
// memory and runs lists of kernel calls on buffers the host laid out (one Comlink call per
// list, i.e. per shard or reduction range of a step). Holds no tensors of its own.

import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import { Engine } from "../src/core/engine.js";
import { call, type KernelCall } from "../src/core/executor.js";

let engine: Engine | undefined;

export const api = {
  async attach(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<void> {
    engine = await Engine.create(module, memory);
  },
  run(calls: readonly KernelCall[]): void {
    if (!engine) throw new Error("worker used before attach()");
    for (const c of calls) call(engine, c);
  },
};

export type KernelWorker = typeof api;

if (parentPort) expose(api, nodeEndpoint(parentPort));
