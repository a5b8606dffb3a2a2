// Where a pool's worker thread leaves what it did in a timed run (the benchmarks' timeline),
// for the host to read once the run's last barrier is behind it: shared memory, not a reply,
// so a timed step is started and ended as a training step is (the doorbell, no message).
// A worker writes each phase's record before it arrives at that phase's barrier, and the
// barrier's atomics order those writes before the host's reads.

import type { ThreadTiming } from "./executor.js";

/** Calls one timed run may log per thread (a training step has about 70). */
export const MAX_TIMED_CALLS = 4096;

// Layout (f64): [0] calls logged; then per phase [start, end, busy, calls]; then per call
// logged [phase, index in the phase, ms].
const PHASE = 4;
const CALL = 3;

export class TimingBoard {
  private readonly phasesAt = 1;
  private readonly callsAt: number;

  constructor(private readonly f: Float64Array, private readonly maxPhases: number) {
    this.callsAt = this.phasesAt + PHASE * maxPhases;
  }

  /** A board on new shared memory, for runs of up to `maxPhases` phases. */
  static create(maxPhases: number): TimingBoard {
    const floats = 1 + PHASE * maxPhases + CALL * MAX_TIMED_CALLS;
    return new TimingBoard(new Float64Array(new SharedArrayBuffer(8 * floats)), maxPhases);
  }

  /** The memory to hand to the worker thread that writes it. */
  get shared(): Float64Array {
    return this.f;
  }

  /** Starts a run's log (the worker, before its first phase). */
  clear(): void {
    this.f[0] = 0;
  }

  /** The worker's record of phase `phase`. */
  write(phase: number, t: ThreadTiming): void {
    if (phase >= this.maxPhases) throw new RangeError(`phase ${phase} is past the board's ${this.maxPhases}`);
    this.f.set([t.start, t.end, t.busy, t.calls], this.phasesAt + PHASE * phase);
    let logged = this.f[0]!;
    for (const [index, ms] of t.each) {
      if (logged >= MAX_TIMED_CALLS) throw new RangeError(`a timed run logs at most ${MAX_TIMED_CALLS} calls a thread`);
      this.f.set([phase, index, ms], this.callsAt + CALL * logged++);
    }
    this.f[0] = logged;
  }

  /** The worker's records of the run's first `phases` phases (the host, after the last barrier). */
  read(phases: number): ThreadTiming[] {
    const timings = Array.from({ length: phases }, (_, p): ThreadTiming => {
      const [start, end, busy, calls] = this.f.subarray(this.phasesAt + PHASE * p, this.phasesAt + PHASE * (p + 1));
      return { start: start!, end: end!, busy: busy!, calls: calls!, each: [] };
    });
    for (let i = 0; i < this.f[0]!; i++) {
      const [phase, index, ms] = this.f.subarray(this.callsAt + CALL * i, this.callsAt + CALL * (i + 1));
      timings[phase!]!.each.push([index!, ms!]);
    }
    return timings;
  }
}
