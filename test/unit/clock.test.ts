// The glass-to-glass clock of test/support/clock.ts: what it draws it reads back,
// through blur and a colour shift a style might add.
import { describe, expect, it } from 'vitest';
import { drawClock, lagOf, readClock } from '../support/clock.js';

describe('clock frames', () => {
  it('read back the time they were drawn with, after a blur and a colour cast', () => {
    const width = 640;
    const height = 360;
    const frame = Buffer.alloc(width * height * 3);
    const now = 1_733_300_000_123;
    drawClock(frame, width, height, now, 7);
    expect(lagOf(readClock(frame, width), now + 250)).toBe(250);
    const blurred = Buffer.alloc(frame.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          let n = 0;
          for (let dx = -3; dx <= 3; dx++) {
            const xx = Math.min(width - 1, Math.max(0, x + dx));
            sum += frame[(y * width + xx) * 3 + c]!;
            n++;
          }
          const cast = c === 0 ? 1.3 : c === 2 ? 0.6 : 1; // warm, as candy paints
          blurred[(y * width + x) * 3 + c] = Math.min(255, Math.round((sum / n) * cast));
        }
      }
    }
    expect(lagOf(readClock(blurred, width), now + 40)).toBe(40);
    expect(lagOf(readClock(frame, width), now - 10)).toBeGreaterThan(1_000_000); // a frame from the future wraps: callers drop it
  });
});
