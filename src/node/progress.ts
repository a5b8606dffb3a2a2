// Progress display: a live status line on a terminal, plain periodic lines otherwise
// (logs, CI). Writes to stderr so stdout stays for results.

import type { Metrics } from "../core/train.js";

const TTY_REFRESH_MS = 100;
const PLAIN_EVERY_MS = 5000;

export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastPlain = -Infinity;
  private lastEval: Metrics | undefined;
  private readonly t0 = performance.now();
  private stepAtRate = 0;
  private tAtRate = performance.now();
  private rate = 0;

  constructor(private readonly totalSteps: number, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {
    this.tty = stream.isTTY === true;
  }

  onStep(step: number): void {
    if (!this.tty || this.quiet) return;
    const now = performance.now();
    if (now - this.lastDraw < TTY_REFRESH_MS) return;
    this.updateRate(step, now);
    this.lastDraw = now;
    this.stream.write(`\r\x1b[K${this.bar(step)} ${this.status(step)}`);
  }

  onEval(m: Metrics): void {
    this.lastEval = m;
    if (this.tty || this.quiet) return;
    const now = performance.now();
    if (now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.updateRate(m.step, now);
    this.lastPlain = now;
    this.stream.write(`${this.status(m.step)}\n`);
  }

  /** An event line (memorised, grokked) that stays above the status line. */
  note(text: string): void {
    if (this.quiet) return;
    this.stream.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  done(): void {
    if (this.tty && !this.quiet) this.stream.write("\r\x1b[K");
  }

  private updateRate(step: number, now: number): void {
    if (now - this.tAtRate > 500) {
      this.rate = (step - this.stepAtRate) / ((now - this.tAtRate) / 1000);
      this.stepAtRate = step;
      this.tAtRate = now;
    }
  }

  private bar(step: number): string {
    const width = 20;
    const filled = Math.round((width * step) / this.totalSteps);
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  }

  private status(step: number): string {
    const m = this.lastEval;
    const perTask = m ? Object.entries(m).filter(([k]) => k.startsWith("test_acc/")).map(([k, v]) => ` ${k.slice(9)} ${v.toFixed(3)}`).join("") : "";
    const evals = m ? `  train acc ${m.train_acc.toFixed(3)} loss ${m.train_loss.toExponential(2)}  test acc ${m.test_acc.toFixed(3)}${perTask ? ` (${perTask.trim()})` : ""} loss ${m.test_loss.toExponential(2)}` : "";
    const elapsed = ((performance.now() - this.t0) / 1000).toFixed(0);
    return `step ${step}/${this.totalSteps}  ${this.rate.toFixed(1)} steps/s  ${elapsed}s${evals}`;
  }
}
