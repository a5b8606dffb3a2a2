// `grok analyze DIR`: the Fourier analysis and report of a finished run, again.

import { UsageError } from "../args.js";
import { analysisLine, analyzeRun } from "../analyze.js";
import type { Command } from "./command.js";

export const analyze: Command = {
  name: "analyze",
  summary: "Fourier analysis of a run: DIR/analysis.json, DIR/report.html",
  switches: [],
  help: () => "Usage: grok analyze DIR\n\nAnalyses the final model of a run folder written by `grok train` and writes\nDIR/analysis.json and DIR/report.html.\n",
  async run(args) {
    if (args.positional.length !== 1 || Object.keys(args.flags).length > 0) throw new UsageError("usage: grok analyze DIR (a folder written by grok train)");
    const { analysis, files } = await analyzeRun(args.positional[0]!);
    process.stdout.write(`${analysisLine(analysis)} -> ${files.join(", ")}\n`);
    return 0;
  },
};
