// How much memory a run may lay out on this machine: the --max-memory the user gave, or
// the smaller of the 4 GiB a 32-bit WebAssembly memory holds and 80% of the machine's
// memory (divided among the runs a sweep trains at once).

import { totalmem } from "node:os";
import { parseBytes } from "./args.js";

const WASM_MAX = 4 * 2 ** 30 - 2 ** 16;

export function memoryLimit(maxMemory: string | boolean | undefined, sharedBy = 1): { bytes: number; name: string } {
  if (maxMemory !== undefined) return { bytes: parseBytes("max-memory", maxMemory), name: "--max-memory" };
  const machine = (0.8 * totalmem()) / sharedBy;
  return machine < WASM_MAX
    ? { bytes: Math.floor(machine), name: `${sharedBy > 1 ? `a ${sharedBy}th of ` : ""}80% of this machine's memory (raise it with --max-memory)` }
    : { bytes: WASM_MAX, name: "the 4 GiB a WebAssembly memory holds" };
}
