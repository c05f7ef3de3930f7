import { describe, expect, it } from 'vitest';
import { CoherenceCheck, MIN_STATIC_FRACTION } from '../../dist/pipeline/coherence.js';

const W = 16;
const H = 8;
const PIXELS = W * H;

/** A grey RGB frame of 8-bit level `level` (its luminance is that level). */
function constant(level: number): Uint8Array {
  return new Uint8Array(PIXELS * 3).fill(level);
}

function check(stabilizeStrength = 0) {
  return new CoherenceCheck({ width: W, height: H, inputChannels: 3, outputChannels: 3, stabilizeStrength });
}

describe('flicker score', () => {
  it('is null for the first frame and 0 when nothing changes', () => {
    const c = check();
    expect(c.process(constant(128), constant(77))).toBeNull();
    expect(c.process(constant(128), constant(77))).toBe(0);
    expect(c.meanFlicker).toBe(0);
  });

  it('measures output change in 8-bit levels where the input stood still', () => {
    const c = check();
    c.process(constant(128), constant(77));
    // Output grey moves by 25 levels everywhere while the input is unchanged.
    expect(c.process(constant(128), constant(102))).toBeCloseTo(25, 3);
  });

  it('ignores pixels whose input changed (motion is not flicker)', () => {
    const c = check();
    c.process(constant(128), constant(77));
    const input = constant(128);
    const output = constant(77);
    // Left half: input moved a lot and output followed; right half static and stable.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W / 2; x++) {
        for (let ch = 0; ch < 3; ch++) {
          input[(y * W + x) * 3 + ch] = 230;
          output[(y * W + x) * 3 + ch] = 230;
        }
      }
    }
    expect(c.process(input, output)).toBe(0);
  });

  it('is null when (almost) every pixel moved, e.g. at a cut, and such frames stay out of the mean', () => {
    const c = check();
    c.process(constant(26), constant(77));
    expect(c.process(constant(230), constant(204))).toBeNull();
    expect(c.scoredFrames).toBe(0);
    expect(c.meanFlicker).toBeNull();
  });

  it('scores a frame once at least MIN_STATIC_FRACTION of its pixels stood still', () => {
    const staticCount = Math.ceil(MIN_STATIC_FRACTION * PIXELS);
    const frame = (level: number, still: number) => {
      const input = constant(level);
      input.fill(26, 0, still * 3);
      return input;
    };
    const enough = check();
    enough.process(frame(128, staticCount), constant(77));
    expect(enough.process(frame(230, staticCount), constant(102))).toBeCloseTo(25, 3);
    const tooFew = check();
    tooFew.process(frame(128, staticCount - 1), constant(77));
    expect(tooFew.process(frame(230, staticCount - 1), constant(102))).toBeNull();
  });

  it('averages the scored frames', () => {
    const c = check();
    c.process(constant(128), constant(77));
    c.process(constant(128), constant(102)); // 25
    c.process(constant(128), constant(102)); // 0
    expect(c.meanFlicker).toBeCloseTo(12.5, 3);
  });
});

describe('stabilization', () => {
  it('lowers the score of a shimmering output on a static input and leaves moving pixels alone', () => {
    const noisy = (i: number) => constant(i % 2 === 0 ? 77 : 128);
    const plain = check(0);
    const stable = check(0.7);
    for (let i = 0; i < 10; i++) {
      plain.process(constant(128), noisy(i));
      stable.process(constant(128), noisy(i));
    }
    expect(stable.meanFlicker!).toBeLessThan(plain.meanFlicker! * 0.5);

    const c = check(0.7);
    c.process(constant(51), constant(77));
    const moved = constant(204);
    c.process(constant(230), moved);
    expect(moved[0]).toBe(204); // input changed by 179 levels > threshold: output untouched
  });

  it('rejects a strength outside [0, 1)', () => {
    expect(() => check(1)).toThrow(RangeError);
    expect(() => check(-0.1)).toThrow(RangeError);
  });
});

describe('packed layouts', () => {
  it('reads RGBA input and output like RGB (alpha ignored)', () => {
    const rgba = (level: number) => new Uint8Array(PIXELS * 4).map((_, i) => (i % 4 === 3 ? 7 : level));
    const c = new CoherenceCheck({ width: W, height: H, inputChannels: 4, outputChannels: 4 });
    c.process(rgba(128), rgba(77));
    expect(c.process(rgba(128), rgba(102))).toBeCloseTo(25, 3);
  });

  it('refuses buffers smaller than the frame', () => {
    expect(() => check().process(new Uint8Array(3), constant(1))).toThrow(RangeError);
  });
});
