// The model's vocabulary: the p number tokens 0..p-1, then the operator tokens
// '=' '+' '-' '*' '/' (p..p+4), then one token per task that needs its own (a mixture of
// polynomials, which would otherwise all present [a, '=', b]). d_vocab is its size. Every
// token id the data, the analysis and the checkpoints use comes from here.

import type { Task } from "./tasks.js";

/** The operator token an input uses: elementary operations have their own, polynomials use '='. */
export type OpSymbol = "=" | "+" | "-" | "*" | "/";

export const OPERATORS: readonly OpSymbol[] = ["=", "+", "-", "*", "/"];

/** How a vocabulary is recorded in config.json and checkpoint metadata. */
export interface VocabRecord {
  numbers: number;
  operators: Record<string, number>;
  tasks: Record<string, number>;
  size: number;
}

export class Vocab {
  /** Number tokens, the operators, then `taskTokens` in order. */
  constructor(readonly p: number, readonly taskTokens: readonly string[] = []) {}

  /**
   * The vocabulary of a run on `tasks`: a task token for each polynomial when more than one
   * task uses '=' (they would be indistinguishable); otherwise none, so a single task has the
   * paper's d_vocab = p + 5.
   */
  static forTasks(p: number, tasks: readonly Task[]): Vocab {
    const shared = tasks.filter((t) => t.op === "=");
    return new Vocab(p, shared.length > 1 ? shared.map((t) => t.name) : []);
  }

  get size(): number {
    return this.p + OPERATORS.length + this.taskTokens.length;
  }

  operator(op: OpSymbol): number {
    return this.p + OPERATORS.indexOf(op);
  }

  /** The token in the middle of `task`'s inputs [a, token, b]: its task token, or its operator. */
  inputToken(task: Task): number {
    const i = this.taskTokens.indexOf(task.name);
    return i >= 0 ? this.p + OPERATORS.length + i : this.operator(task.op);
  }

  /** "17" for a number, "+" for an operator, "<a2+b2>" for a task token. */
  label(token: number): string {
    if (token < this.p) return String(token);
    if (token < this.p + OPERATORS.length) return OPERATORS[token - this.p]!;
    return `<${this.taskTokens[token - this.p - OPERATORS.length]}>`;
  }

  toRecord(): VocabRecord {
    return {
      numbers: this.p,
      operators: Object.fromEntries(OPERATORS.map((op) => [op, this.operator(op)])),
      tasks: Object.fromEntries(this.taskTokens.map((name, i) => [name, this.p + OPERATORS.length + i])),
      size: this.size,
    };
  }
}
