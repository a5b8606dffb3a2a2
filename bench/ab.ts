// `npm run bench:ab -- [--workers 2|1,2] [--rounds 12] [--steps 10] DIR DIR...`: the training step
// of two (or more) builds of grokwasm side by side in one process, each DIR a checkout built
// with `npm run build` (its dist/ and build/). The builds take turns, a round of steps each,
// so the neighbours of a shared machine slow them alike. Prints each one's fastest, 10th
// percentile and median ms per step, its paired difference from the first build (the
// steadiest figure on a noisy machine), and a hash of its weights at the end: builds that
// should give the same numbers show the same hash.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type * as Config from "../src/core/config.js";
import type * as RunModule from "../src/core/run.js";
import type * as Train from "../src/core/train.js";
import type * as Pool from "../src/node/pool.js";
import type * as Wasm from "../src/node/wasm.js";
import { median } from "./median.js";

/** Says what is wrong and how to fix it, and exits (a usage error, not a crash). */
function fail(message: string): never {
  console.error(`bench:ab: ${message}`);
  process.exit(2);
}

const options = { workers: { type: "string", default: "1" }, rounds: { type: "string", default: "12" }, steps: { type: "string", default: "10" } } as const;
const { values, positionals: dirs } = (() => {
  try {
    return parseArgs({ allowPositionals: true, options });
  } catch (e) {
    return fail(`${(e as Error).message}; the options are --workers, --rounds and --steps`);
  }
})();
const positive = (name: keyof typeof values, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer${name === "workers" ? " or a list of them, one per build" : ""}, got ${values[name]}`);
  return n;
};
const [rounds, steps] = [positive("rounds", values.rounds), positive("steps", values.steps)];
if (dirs.length < 2) fail("give at least two built checkouts to compare, e.g. npm run bench:ab -- ../before .");
// One count for every build, or one per build: `--workers 1,2 . .` sets a build against itself
// on 2 workers (the paired ratio is then how the step scales).
const workerCounts = values.workers.split(",").map((w) => positive("workers", w));
if (workerCounts.length !== 1 && workerCounts.length !== dirs.length) fail(`--workers ${values.workers} gives ${workerCounts.length} counts for ${dirs.length} builds: give one, or one per build`);
const workersOf = (i: number): number => workerCounts[workerCounts.length === 1 ? 0 : i]!;
const threads = (w: number): string => (w === 1 ? "1 thread" : `${w} workers`);

interface Build {
  dir: string;
  /** Its label: the directory, with the worker count when the builds' counts differ. */
  name: string;
  step(): Promise<number>;
  weights(): Uint8Array;
  close(): Promise<void>;
  times: number[];
  /** The mean step of each round. */
  rounds: number[];
}

// A build's own modules, from its dist/: each build runs its own TypeScript and WebAssembly.
async function load(dir: string, workers: number): Promise<Build> {
  const module = async <T>(path: string): Promise<T> => {
    const file = resolve(dir, "dist/src", path);
    if (!existsSync(file)) fail(`${dir} is not a built checkout of grokwasm (no ${file}): run npm run build in it`);
    return (await import(pathToFileURL(file).href)) as T;
  };
  const { DEFAULTS } = await module<typeof Config>("core/config.js");
  const { Run } = await module<typeof RunModule>("core/run.js");
  const { Trainer } = await module<typeof Train>("core/train.js");
  const { createWorkerPool } = await module<typeof Pool>("node/pool.js");
  const { loadEngine } = await module<typeof Wasm>("node/wasm.js");
  const pool = workers > 1 ? await createWorkerPool(workers) : undefined;
  const run = Run.assemble(pool ? pool.engine : await loadEngine(), DEFAULTS, { executor: pool });
  const trainer = new Trainer(run);
  for (let i = 0; i < 5; i++) await trainer.trainStep(); // warm-up: the optimising compiler
  return {
    dir,
    name: workerCounts.length === 1 ? dir : `${dir} (${threads(workers)})`,
    step: () => trainer.trainStep(),
    weights: () => new Uint8Array(run.model.buffer("params").read().buffer),
    close: async () => {
      run.dispose();
      await pool?.close();
    },
    times: [],
    rounds: [],
  };
}

const builds: Build[] = [];
for (const [i, dir] of dirs.entries()) builds.push(await load(dir, workersOf(i)));
for (let round = 0; round < rounds; round++) {
  // Alternate which build goes first, so none always follows the same one.
  for (const build of round % 2 ? [...builds].reverse() : builds) {
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await build.step();
      build.times.push(performance.now() - t0);
    }
    build.rounds.push(build.times.slice(-steps).reduce((a, t) => a + t, 0) / steps);
  }
}
// A build against the first, round by round (the two ran back to back, so a minute of
// neighbour load mostly cancels out): the median of the differences of their mean steps, and
// of the first's mean step over this one's (its speed-up).
const paired = (build: Build, f: (mine: number, first: number) => number): number => median(build.rounds.map((t, r) => f(t, builds[0]!.rounds[r]!)));
console.log(`training step at the defaults, ${workerCounts.length === 1 ? threads(workerCounts[0]!) : "each build on the workers given"}: ${rounds} rounds of ${steps} steps each, the builds taking turns (ms)`);
console.log(`  ${"build".padEnd(40)}${"fastest".padStart(9)}${"p10".padStart(9)}${"median".padStart(9)}${"paired".padStart(9)}${"speed-up".padStart(9)}  weights sha256   (paired, speed-up: against the first build, round by round)`);
for (const build of builds) {
  const t = [...build.times].sort((a, b) => a - b);
  const at = (q: number): string => t[Math.floor(q * (t.length - 1))]!.toFixed(2).padStart(9);
  const hash = createHash("sha256").update(build.weights()).digest("hex").slice(0, 16);
  const diff = paired(build, (mine, first) => mine - first), speedup = paired(build, (mine, first) => first / mine);
  const against = build === builds[0] ? "".padStart(18) : `${`${diff >= 0 ? "+" : ""}${diff.toFixed(2)}`.padStart(9)}${`${speedup.toFixed(3)}x`.padStart(9)}`;
  console.log(`  ${build.name.padEnd(40)}${at(0)}${at(0.1)}${at(0.5)}${against}  ${hash}`);
  await build.close();
}
