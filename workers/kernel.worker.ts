// A worker thread of the pool on Node (src/core/model/pool.ts): attaches its own instance of
// the core to the host's shared memory and runs the kernel calls it claims.

import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import { kernelWorker } from "../src/core/model/pool.js";

if (parentPort) expose(kernelWorker(), nodeEndpoint(parentPort));
