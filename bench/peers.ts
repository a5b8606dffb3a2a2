// `npm run bench:peers`: our training step against the paper's PyTorch step (bench/peers/
// torch_step.py) on the same machine, with the same thread counts, alternating A and B
// over several rounds (the machine is shared and noisy: compare side by side, report
// medians and ratios). PyTorch is a dev-time peer: Debian's python3-torch with OpenMP
// OpenBLAS (without it torch runs on the netlib reference BLAS, ~10x slower, which would
// make the comparison meaningless), installed with apt-get when missing.

import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../src/core/config.js";
import type { Executor } from "../src/core/model/executor.js";
import { Run } from "../src/core/run.js";
import { Trainer } from "../src/core/train.js";
import type { Engine } from "../src/core/wasm/engine.js";
import { createWorkerPool } from "../src/node/pool.js";
import { loadEngine } from "../src/node/wasm.js";
import { median } from "./median.js";

const PYTHON = "/usr/bin/python3";
const TORCH_STEP = fileURLToPath(new URL("../../bench/peers/torch_step.py", import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const STEPS = Number(process.env.STEPS ?? 10);
// glibc: keep freed pages (each page returned to the system costs ~15 us to fault back in
// on these VMs and slows PyTorch 1.3-3x without changing any result).
const MALLOC = { MALLOC_MMAP_MAX_: "0", MALLOC_TRIM_THRESHOLD_: "1000000000000" };

function ensureTorch(): void {
  const ok = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
  if (ok) return;
  console.log("python3-torch is missing: installing python3-torch and libopenblas0-openmp with apt-get");
  execFileSync("apt-get", ["install", "-y", "-qq", "python3-torch", "libopenblas0-openmp"], { stdio: "inherit" });
}

/** The paper's step in PyTorch; `last`: only what the last position's logits need (the algorithm-fair peer). */
function torchStep(threads: number, last = false): number {
  const out = execFileSync(PYTHON, [TORCH_STEP, String(threads), String(STEPS), ...(last ? ["last"] : [])], {
    encoding: "utf8", env: { ...process.env, ...MALLOC, OMP_NUM_THREADS: String(threads) },
  });
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as { ms_per_step: number; blas: string[]; torch: string };
  if (!result.blas.some((lib) => lib.includes("openblas"))) {
    throw new Error(`PyTorch runs on ${result.blas.join(", ") || "no BLAS library"}, not OpenBLAS: install libopenblas0-openmp (apt-get), else the comparison is meaningless`);
  }
  peerVersion = `PyTorch ${result.torch}, ${result.blas.find((lib) => lib.includes("libopenblas"))?.split("/").at(-1) ?? result.blas[0]}`;
  return result.ms_per_step;
}

let peerVersion = "";

async function oursStep(engine: Engine, executor?: Executor): Promise<number> {
  const run = Run.assemble(engine, DEFAULTS, { executor });
  const trainer = new Trainer(run);
  const times: number[] = [];
  for (let t = 1; t <= STEPS + 3; t++) {
    const t0 = performance.now();
    await trainer.trainStep();
    if (t > 3) times.push(performance.now() - t0);
  }
  run.dispose();
  return median(times);
}


// TensorFlow.js (pure-JS "cpu" and "wasm" backends, one thread): ~100x slower than either
// of the above, so one short run each is enough.
const TFJS_STEP = fileURLToPath(new URL("./peers/tfjs-step.js", import.meta.url));
function tfjsStep(backend: string): number {
  const out = execFileSync(process.execPath, [TFJS_STEP, backend, "2"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return (JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1)!) as { ms_per_step: number }).ms_per_step;
}

ensureTorch();
const results: Record<string, number[]> = { "ours 1": [], "ours 2": [], "torch 1": [], "torch 2": [], "torch-last 1": [], "torch-last 2": [] };
const pool = await createWorkerPool(2);
for (let round = 1; round <= ROUNDS; round++) {
  results["ours 1"]!.push(await oursStep(await loadEngine()));
  results["torch 1"]!.push(torchStep(1));
  results["torch-last 1"]!.push(torchStep(1, true));
  results["ours 2"]!.push(await oursStep(pool.engine, pool));
  results["torch 2"]!.push(torchStep(2));
  results["torch-last 2"]!.push(torchStep(2, true));
  console.log(`round ${round}: ${Object.entries(results).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(1)} ms`).join(", ")}`);
}
await pool.close();
console.log(`\ntraining step, p=97 r=0.3 (2822 pairs), paper's model; median ms/step over ${ROUNDS} rounds of ${STEPS} steps (${peerVersion})`);
console.log("  threads   ours (wasm fast path)   PyTorch (paper's code)  / ours   PyTorch (last position only)  / ours");
for (const threads of [1, 2]) {
  const ours = median(results[`ours ${threads}`]!), torch = median(results[`torch ${threads}`]!), last = median(results[`torch-last ${threads}`]!);
  console.log(`  ${String(threads).padEnd(9)} ${ours.toFixed(1).padStart(10)}            ${torch.toFixed(1).padStart(10)}         ${(torch / ours).toFixed(1).padStart(5)}x   ${last.toFixed(1).padStart(14)}              ${(last / ours).toFixed(1).padStart(5)}x`);
}
if (!process.argv.includes("--no-tfjs")) {
  const ours1 = median(results["ours 1"]!);
  console.log(`\n  TensorFlow.js 4.22 (1 thread)   ms/step   / ours (1 thread)`);
  for (const backend of ["wasm", "cpu"]) {
    const t = tfjsStep(backend);
    console.log(`  tfjs-backend-${backend.padEnd(19)}${t.toFixed(0).padStart(9)}   ${(t / ours1).toFixed(0).padStart(6)}x`);
  }
}
