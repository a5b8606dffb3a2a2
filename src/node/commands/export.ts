// `grok export DIR --to transformerlens`: a run's model for TransformerLens.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadWeights, readCheckpoint } from "../../core/io/checkpoint.js";
import { encodeSafetensors } from "../../core/io/safetensors.js";
import { transformerLensConfig, transformerLensTensors } from "../../core/io/transformerlens.js";
import { Model } from "../../core/model/model.js";
import { PARAM_NAMES } from "../../core/model/params.js";
import { dimsOf, vocabOf } from "../../core/run.js";
import { UsageError } from "../args.js";
import { makeDirs, writeFileAtomic } from "../files.js";
import { readRunConfig } from "../run-files.js";
import { loadEngine } from "../wasm.js";
import type { Command } from "./command.js";

export const exportCommand: Command = {
  name: "export",
  summary: "a run's model for TransformerLens (HookedTransformer names and layouts)",
  switches: [],
  help: () => `Usage: grok export DIR --to transformerlens [--out DIR/transformerlens]

Writes model.safetensors with TransformerLens' HookedTransformer names and layouts (zeros
for the biases and positional embedding the paper's model does not have) and config.json
with the HookedTransformerConfig arguments. In Python:

  import json; from safetensors.torch import load_file
  from transformer_lens import HookedTransformer, HookedTransformerConfig
  model = HookedTransformer(HookedTransformerConfig(**json.load(open("DIR/transformerlens/config.json"))))
  model.load_state_dict(load_file("DIR/transformerlens/model.safetensors"), strict=False)
`,
  async run({ positional, flags }) {
    if (positional.length !== 1) throw new UsageError("usage: grok export DIR --to transformerlens (a folder written by grok train)");
    if (flags.to !== "transformerlens") throw new UsageError(`--to must be transformerlens, got '${String(flags.to ?? "")}'`);
    const extra = Object.keys(flags).filter((k) => k !== "to" && k !== "out");
    if (extra.length > 0) throw new UsageError(`grok export takes --to and --out, not --${extra[0]}`);
    const dir = positional[0]!;
    const { config, saved } = readRunConfig(dir);
    const vocab = vocabOf(config);
    const model = new Model(await loadEngine(), dimsOf(config, vocab));
    const source = join(dir, "model.safetensors");
    loadWeights(model, readCheckpoint(readFileSync(source), source), PARAM_NAMES, source);
    const out = typeof flags.out === "string" ? flags.out : join(dir, "transformerlens");
    makeDirs(out);
    writeFileAtomic(join(out, "model.safetensors"), encodeSafetensors(transformerLensTensors(model), { format: "pt", grokwasm_source: JSON.stringify({ run: dir, task: saved.task, vocab: vocab.toRecord() }) }));
    writeFileAtomic(join(out, "config.json"), JSON.stringify(transformerLensConfig(model), null, 2) + "\n");
    process.stdout.write(`${join(out, "model.safetensors")}, ${join(out, "config.json")}\n`);
    return 0;
  },
};
