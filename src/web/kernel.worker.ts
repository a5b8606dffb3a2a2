// A thread of the lab's worker pool (src/core/model/pool.ts), as a Web Worker.

import { expose } from "comlink";
import { kernelWorker } from "../core/model/pool.js";

expose(kernelWorker());
