// `grokwasm/node`: what a Node host adds to the portable core (`grokwasm`): the compiled
// core read from the package, a pool of worker threads over shared memory, run folders.

export { loadEngine, readWasm, wasmPath, type Build } from "./wasm.js";
export { createWorkerPool, defaultWorkers } from "./pool.js";
export { WorkerPool } from "../core/model/pool.js";
export { analyzeRun, analysisLine } from "./analyze.js";
