// `grok analyze DIR`: the Fourier analysis and report of a finished run, again; with
// --over-training, the progress measures of each of its checkpoints first.

import { UsageError } from "../args.js";
import { analysisLine, analyzeRun, progressFromCheckpoints } from "../analyze.js";
import type { Command } from "./command.js";

export const analyze: Command = {
  name: "analyze",
  summary: "Fourier analysis of a run: DIR/analysis.json, DIR/report.html",
  switches: ["over_training", "final_keys"],
  help: () => `Usage: grok analyze DIR [--over-training [--final-keys]]

Analyses the final model of a run folder written by \`grok train\` and writes
DIR/analysis.json and DIR/report.html.

  --over-training   first measure every checkpoint of the run (progress.jsonl, replaced):
                    key frequencies, restricted and excluded loss, Gini coefficients,
                    neuron clusters (keep checkpoints with --ckpt-every and --keep-ckpts)
  --final-keys      with it: the final model's key frequencies at every step (Nanda et
                    al.'s plots), rather than each step's own
`,
  async run({ positional, flags }) {
    const extra = Object.keys(flags).find((k) => k !== "over_training" && k !== "final_keys");
    if (positional.length !== 1 || extra) throw new UsageError("usage: grok analyze DIR [--over-training [--final-keys]] (a folder written by grok train)");
    if (flags.final_keys && !flags.over_training) throw new UsageError("--final-keys goes with --over-training");
    const dir = positional[0]!;
    if (flags.over_training === true) {
      const { points, file } = await progressFromCheckpoints(dir, flags.final_keys === true);
      process.stdout.write(`${points.length} checkpoints measured -> ${file}\n`);
    }
    const { analysis, files } = await analyzeRun(dir);
    process.stdout.write(`${analysisLine(analysis)} -> ${files.join(", ")}\n`);
    return 0;
  },
};
