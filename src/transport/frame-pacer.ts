/**
 * Sends the newest frame at a constant rate on the wall clock: repeated when no
 * newer one came in time (the stylizer is slower than the stream's rate), the
 * rest skipped when a newer one replaced it. A late timer catches up a few
 * frames at most, so timestamps counted at the rate stay on the wall clock.
 * Used by every encoded output that declares a frame rate (fMP4, pushes).
 */
export interface PacedFrame {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

export class FramePacer {
  private latest: PacedFrame | null = null;
  private fresh = false;
  private timer: NodeJS.Timeout | null = null;
  private since = 0;
  private sent = 0;
  private repeats = 0;

  constructor(private readonly fps: number, private readonly send: (frame: PacedFrame) => void) {}

  /** Frames sent again because nothing newer was ready at their time. */
  get repeated(): number {
    return this.repeats;
  }

  /** The newest frame; pacing starts with the first. */
  push(frame: PacedFrame): void {
    const first = this.latest === null;
    this.latest = frame;
    this.fresh = true;
    if (!this.timer) {
      this.since = performance.now();
      this.sent = 0;
      this.timer = setInterval(() => this.tick(), Math.max(5, Math.floor(1000 / this.fps / 2)));
    }
    if (first) this.tick();
  }

  /** Stops pacing and forgets the frame (a new push starts again). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.latest = null;
  }

  private tick(): void {
    if (!this.latest) return;
    const due = Math.floor(((performance.now() - this.since) * this.fps) / 1000) + 1;
    let missing = due - this.sent;
    if (missing > 5) {
      // Far behind (the event loop stalled): skip ahead rather than burst.
      this.sent = due - 1;
      missing = 1;
    }
    for (; missing > 0; missing--) {
      if (!this.fresh) this.repeats++;
      this.fresh = false;
      this.sent++;
      this.send(this.latest);
    }
  }
}
