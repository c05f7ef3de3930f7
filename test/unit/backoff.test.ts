import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../dist/core/backoff.js';

describe('retryDelayMs (one retry schedule for sources, pushes and Janus)', () => {
  it('waits longer after each failure, up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(n))).toEqual([1000, 2000, 5000, 10_000, 30_000, 30_000, 30_000]);
  });

  it('holds to a cap, and treats odd counts as the nearest sane one', () => {
    expect([0, 3, 4, 9].map((n) => retryDelayMs(n, 10_000))).toEqual([1000, 10_000, 10_000, 10_000]);
    expect(retryDelayMs(-3)).toBe(1000);
    expect(retryDelayMs(1.7)).toBe(2000);
  });
});
