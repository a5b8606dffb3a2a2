// The public API of grokwasm: what every host (the CLI, worker threads, a browser page, an
// edge runtime) imports. Portable: nothing here touches files, processes or threads; a host
// gives the engine its .wasm bytes (Node: `grokwasm/node`'s loadEngine) and a clock.

// Configuration and tasks
export { DEFAULTS, MAX_P, PATHS, ConfigError, isConfigKey, isPrime, resolveConfig, validateConfig, type RunConfig } from "./config.js";
export { TASKS, TaskError, checkDistinct, resolveTask, resolveTasks, type Task } from "./data/tasks.js";
export { ExprError, evalExpr, parseExpr, type Expr } from "./data/expr.js";
export { OPERATORS, Vocab, type OpSymbol, type VocabRecord } from "./data/vocab.js";
export { CONTEXT, buildDataset, type Dataset, type Segment, type Split } from "./data/data.js";
export { MersenneTwister } from "./data/rng.js";

// Assembling and training a run
export { Run, dimsOf, vocabOf, type CheckpointSource, type RunOptions, type RunRecord } from "./run.js";
export { AFTER_GROKKING, GROKKED_ACC, MEMORIZED_ACC, Trainer, TrainingError, formatMetrics, runTraining, type CheckpointReason, type Events, type Metrics, type RunHooks, type Summary } from "./train.js";
export { SliceError, trainSlice, type SliceLimits, type SliceResult } from "./slice.js";
export { axisValues, configHash, expandSweep, gridTables, mergeSpecs, recordId, rowsToCsv, specFromDocument, specFromFlags, SweepError, sweepRows, type GridTable, type RunFolder, type SweepCell, type SweepRow, type SweepSpec } from "./sweep.js";

// The model and where its work runs
export { Model, Batch, totalLoss, type AdamWConfig, type BufferName, type LossAndAccuracy, type Path } from "./model/model.js";
export { MODULES, PARAM_NAMES, entryOf, moduleParams, paramLayout, paramShape, type Dims, type ParamEntry, type ParamLayout, type ParamName } from "./model/params.js";
export { FastPath, MAX_WORKERS, PARTS } from "./model/fast.js";
export { ReferencePath } from "./model/reference.js";
export { initParams } from "./model/init.js";
export { LocalExecutor, runClaimed, type Executor, type KernelCall } from "./model/executor.js";

// What a trained model computes
export { analyze, KEY_ENERGY_FRACTION, type Analysis, type SpectrumSummary, type TaskAnalysis } from "./analysis.js";
export { FourierProgress, type ProgressMeasures } from "./fourier/progress.js";
export { DEFAULT_ETA, fcr, ffd, frequencyNorms, type FrequencyNorms } from "./fourier/measures.js";
export { fourierBasis, type FourierBasis } from "./fourier/basis.js";

// Checkpoints: bytes in, bytes out
export { CheckpointError, FORMAT_VERSION, checkCompatible, encodeTrainingState, encodeWeights, loadWeights, readCheckpoint, restoreTrainingState, type Checkpoint, type CheckpointKind, type TrainingState } from "./io/checkpoint.js";
export { MAX_HEADER_BYTES, SafetensorsError, decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from "./io/safetensors.js";

// The WebAssembly core
export { Engine, type Kernels } from "./wasm/engine.js";
export { Region, type DType } from "./wasm/region.js";
export { LayoutError, STRUCTS, type StructName } from "./wasm/layout.js";
