// Progress display: on a terminal, one status line redrawn in place that fits its width
// (fields dropped from the least important up); in a log, a plain line every 5 s. It shows
// the step, test and train accuracy, FFD of W_L (the early signal), the ETA against the step
// cap and the rate, and says once when test accuracy has stopped rising. Writes to stderr so
// stdout stays for results.

import type { RunConfig } from "../core/config.js";
import type { Metrics } from "../core/train.js";

const TTY_REFRESH_MS = 100;
const PLAIN_EVERY_MS = 5000;
/** A plateau: no new best test accuracy over this share of the step cap (and at least PLATEAU_MIN steps). */
const PLATEAU_SHARE = 0.2;
const PLATEAU_MIN = 2000;

export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastPlain = -Infinity;
  private lastEval: Metrics | undefined;
  private readonly t0 = performance.now();
  private stepAtRate: number;
  private tAtRate = performance.now();
  private rate = 0;
  private best = { acc: -1, step: 0 };
  private plateauNoted = false;

  constructor(private readonly config: RunConfig, startStep = 0, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {
    this.tty = stream.isTTY === true;
    this.stepAtRate = startStep;
  }

  onStep(step: number): void {
    if (!this.tty || this.quiet) return;
    const now = performance.now();
    if (now - this.lastDraw < TTY_REFRESH_MS) return;
    this.updateRate(step, now);
    this.lastDraw = now;
    this.stream.write(`\r\x1b[K${this.status(step, this.stream.columns || 80)}`);
  }

  onEval(m: Metrics): void {
    this.lastEval = m;
    this.checkPlateau(m);
    if (this.tty || this.quiet) return;
    const now = performance.now();
    if (now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.updateRate(m.step, now);
    this.lastPlain = now;
    this.stream.write(`${this.status(m.step, 160)}\n`);
  }

  /** An event line (memorised, grokked, a plateau) that stays above the status line. */
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

  // Test accuracy that has not risen for a while: say so once, with what usually helps.
  private checkPlateau(m: Metrics): void {
    if (m.test_acc > this.best.acc + 1e-9) this.best = { acc: m.test_acc, step: m.step };
    const window = Math.max(PLATEAU_MIN, PLATEAU_SHARE * this.config.steps);
    if (this.plateauNoted || m.test_acc >= 0.99 || m.step - this.best.step < window || m.train_acc < 0.99) return;
    this.plateauNoted = true;
    const hint = this.config.frac < 0.6 ? `a larger --frac (now ${this.config.frac}) groks sooner` : "more steps, or another seed";
    this.note(`note: test accuracy has not risen for ${m.step - this.best.step} steps (best ${this.best.acc.toFixed(3)} at step ${this.best.step}): ${hint}${this.config.p <= 31 && this.config.preset !== "small" ? "; for a small p try --preset small" : ""}`);
  }

  /** The status line, at most `width` characters: its fields in order of importance. */
  status(step: number, width: number): string {
    const m = this.lastEval;
    const cap = this.config.steps;
    const elapsed = (performance.now() - this.t0) / 1000;
    const perTask = m ? Object.entries(m).filter(([k]) => k.startsWith("test_acc/")).map(([k, v]) => `${k.slice(9)} ${v.toFixed(2)}`) : [];
    const fields: string[] = [
      this.config.until_grokked ? `step ${step} (≤${cap})` : `step ${step}/${cap}`,
      m ? `test ${m.test_acc.toFixed(3)}` : "",
      m ? `train ${m.train_acc.toFixed(3)}` : "",
      m ? `FFD_L ${m.ffd_L.toFixed(2)}` : "",
      this.rate > 0 ? `ETA ${duration((cap - step) / this.rate)}${this.config.until_grokked ? " at most" : ""}` : "",
      ...perTask,
      this.rate > 0 ? `${this.rate.toFixed(0)} steps/s` : "",
      m ? `loss ${m.train_loss.toExponential(1)}/${m.test_loss.toExponential(1)}` : "",
      `${duration(elapsed)} elapsed`,
    ].filter(Boolean);
    let line = fields[0]!;
    for (const f of fields.slice(1)) {
      if (line.length + 2 + f.length > width - 1) break;
      line += `  ${f}`;
    }
    return line.slice(0, width - 1);
  }
}

export function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 90) return `${s.toFixed(0)}s`;
  if (s < 5400) return `${(s / 60).toFixed(0)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}
