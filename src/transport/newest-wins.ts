/**
 * Applies only the newest of a burst of requests (style switches, painting mixes):
 * while one is being applied, later ones replace each other and at most one waits;
 * a replaced request resolves without being applied. After a heavy one (`apply`
 * returns true: a model load) the next waits `minIntervalMs`, so a client can cause
 * a few model loads a second at most, with frames flowing between, never a queue.
 */
export class NewestWins<T> {
  private waiting: { value: T; resolve: () => void; reject: (error: unknown) => void } | null = null;
  private draining = false;
  private heavyEnded = -Infinity;
  private applied = 0;

  constructor(
    private readonly apply: (value: T) => Promise<boolean>,
    private readonly minIntervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Requests applied so far (replaced ones are not counted). */
  get appliedCount(): number {
    return this.applied;
  }

  submit(value: T): Promise<void> {
    this.waiting?.resolve(); // replaced: never applied
    return new Promise<void>((resolve, reject) => {
      this.waiting = { value, resolve, reject };
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting) {
        const pause = this.heavyEnded + this.minIntervalMs - this.now();
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        const job = this.waiting;
        this.waiting = null;
        if (!job) break;
        try {
          if (await this.apply(job.value)) this.heavyEnded = this.now();
          this.applied++;
          job.resolve();
        } catch (error) {
          job.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
