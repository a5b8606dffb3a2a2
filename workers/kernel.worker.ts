// A worker thread of the pool: attaches its own instance of the core to the host's shared
// memory and runs kernel calls on buffers the host laid out: one Comlink call per phase of a
// step, in which it claims the phase's calls one by one from a counter shared with the other
// workers. Holds no tensors of its own.

import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import { Engine } from "../src/core/wasm/engine.js";
import { runClaimed, type KernelCall } from "../src/core/model/executor.js";

let attached: { engine: Engine; counter: Int32Array } | undefined;

export const api = {
  async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, counter: Int32Array): Promise<void> {
    attached = { engine: await Engine.create(module, memory), counter };
  },
  run(calls: readonly KernelCall[]): void {
    if (!attached) throw new Error("worker used before attach()");
    runClaimed(attached.engine, calls, attached.counter);
  },
};

export type KernelWorker = typeof api;

if (parentPort) expose(api, nodeEndpoint(parentPort));
