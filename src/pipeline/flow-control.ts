import { StylecastError } from '../core/errors.js';

/**
 * Counts frames in flight. The decoder takes a credit before emitting a frame;
 * the encoder gives it back once the frame is written. With N credits, at most
 * N frames exist between the two, whatever the file's length (files: lossless
 * and bounded; nothing is ever dropped on this path).
 */
export class CreditGate {
  private available: number;
  private readonly waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private failure: Error | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.available = capacity;
  }

  get inFlight(): number {
    return this.capacity - this.available;
  }

  acquire(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve();
    else this.available = Math.min(this.capacity, this.available + 1);
  }

  /** Fails every waiter and every later acquire (teardown). */
  cancel(error: Error = StylecastError.closed('pipeline')): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

/** Recycles same-sized frame buffers (frames move to the inference threads and back by transfer). */
export class FramePool {
  private readonly free: Uint8Array[] = [];
  private allocatedCount = 0;

  constructor(readonly length: number, private readonly maxKept = 8) {}

  get allocated(): number {
    return this.allocatedCount;
  }

  acquire(): Uint8Array {
    const buffer = this.free.pop();
    if (buffer) return buffer;
    this.allocatedCount++;
    return new Uint8Array(this.length);
  }

  release(buffer: Uint8Array): void {
    if (buffer.length === this.length && buffer.byteLength > 0 && this.free.length < this.maxKept) this.free.push(buffer);
  }
}
