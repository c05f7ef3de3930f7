/** Live statistics over a sliding window; pure (the caller passes the clock). */
export interface LiveStatsSnapshot {
  readonly fpsIn: number;
  readonly fpsOut: number;
  readonly inferenceMs: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
  readonly dropped: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly flicker: number | null;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export class LiveStats {
  private readonly inTimes: number[] = [];
  private readonly outTimes: number[] = [];
  private readonly latencies: number[] = [];
  private readonly inference: number[] = [];
  private readonly flickers: number[] = [];
  private framesIn = 0;
  private framesOut = 0;
  private droppedFrames = 0;

  constructor(private readonly windowMs = 2000, private readonly samples = 150) {}

  frameIn(now: number): void {
    this.framesIn++;
    this.inTimes.push(now);
    this.trim(this.inTimes, now);
  }

  frameDropped(): void {
    this.droppedFrames++;
  }

  frameOut(now: number, latencyMs: number, inferenceMs: number, flicker: number | null): void {
    this.framesOut++;
    this.outTimes.push(now);
    this.trim(this.outTimes, now);
    this.keep(this.latencies, latencyMs);
    this.keep(this.inference, inferenceMs);
    if (flicker !== null) this.keep(this.flickers, flicker);
  }

  snapshot(now: number): LiveStatsSnapshot {
    this.trim(this.inTimes, now);
    this.trim(this.outTimes, now);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    return {
      fpsIn: (this.inTimes.length * 1000) / this.windowMs,
      fpsOut: (this.outTimes.length * 1000) / this.windowMs,
      inferenceMs: mean(this.inference),
      latencyP50Ms: percentile(sorted, 50),
      latencyP95Ms: percentile(sorted, 95),
      dropped: this.droppedFrames,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      flicker: mean(this.flickers),
    };
  }

  private trim(times: number[], now: number): void {
    while (times.length && times[0]! <= now - this.windowMs) times.shift();
  }

  private keep(xs: number[], value: number): void {
    xs.push(value);
    if (xs.length > this.samples) xs.shift();
  }
}
