import { describe, expect, it } from 'vitest';
import { CoherenceCheck, MIN_STATIC_FRACTION } from '../../dist/pipeline/coherence.js';

const W = 16;
const H = 8;
const PLANE = W * H;

function constant(value: number): Float32Array {
  return new Float32Array(PLANE * 3).fill(value);
}

function check(stabilizeStrength = 0) {
  return new CoherenceCheck({ width: W, height: H, tensorWidth: W, tensorHeight: H, stabilizeStrength });
}

describe('flicker score', () => {
  it('is null for the first frame and 0 when nothing changes', () => {
    const c = check();
    expect(c.process(constant(0.5), constant(0.3))).toBeNull();
    expect(c.process(constant(0.5), constant(0.3))).toBe(0);
    expect(c.meanFlicker).toBe(0);
  });

  it('measures output change in 8-bit levels where the input stood still', () => {
    const c = check();
    c.process(constant(0.5), constant(0.3));
    // Output grey moves by 0.1 everywhere while the input is unchanged: 25.5 levels of luminance.
    expect(c.process(constant(0.5), constant(0.4))).toBeCloseTo(25.5, 3);
  });

  it('ignores pixels whose input changed (motion is not flicker)', () => {
    const c = check();
    c.process(constant(0.5), constant(0.3));
    const input = constant(0.5);
    const output = constant(0.3);
    // Left half: input moved a lot and output followed; right half static and stable.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W / 2; x++) {
        for (let ch = 0; ch < 3; ch++) {
          input[ch * PLANE + y * W + x] = 0.9;
          output[ch * PLANE + y * W + x] = 0.9;
        }
      }
    }
    expect(c.process(input, output)).toBe(0);
  });

  it('is null when (almost) every pixel moved, e.g. at a cut, and such frames stay out of the mean', () => {
    const c = check();
    c.process(constant(0.1), constant(0.3));
    expect(c.process(constant(0.9), constant(0.8))).toBeNull();
    expect(c.scoredFrames).toBe(0);
    expect(c.meanFlicker).toBeNull();
  });

  it('scores a frame once at least MIN_STATIC_FRACTION of its pixels stood still', () => {
    const staticCount = Math.ceil(MIN_STATIC_FRACTION * PLANE);
    const frame = (inputValue: number, still: number) => {
      const input = constant(inputValue);
      for (let ch = 0; ch < 3; ch++) for (let i = 0; i < still; i++) input[ch * PLANE + i] = 0.1;
      return input;
    };
    const enough = check();
    enough.process(frame(0.5, staticCount), constant(0.3));
    expect(enough.process(frame(0.9, staticCount), constant(0.4))).toBeCloseTo(25.5, 3);
    const tooFew = check();
    tooFew.process(frame(0.5, staticCount - 1), constant(0.3));
    expect(tooFew.process(frame(0.9, staticCount - 1), constant(0.4))).toBeNull();
  });

  it('averages the scored frames', () => {
    const c = check();
    c.process(constant(0.5), constant(0.3));
    c.process(constant(0.5), constant(0.4)); // 25.5
    c.process(constant(0.5), constant(0.4)); // 0
    expect(c.meanFlicker).toBeCloseTo(12.75, 3);
  });
});

describe('stabilization', () => {
  it('lowers the score of a shimmering output on a static input and leaves moving pixels alone', () => {
    const noisy = (i: number) => constant(i % 2 === 0 ? 0.3 : 0.5);
    const plain = check(0);
    const stable = check(0.7);
    for (let i = 0; i < 10; i++) {
      plain.process(constant(0.5), noisy(i));
      stable.process(constant(0.5), noisy(i));
    }
    expect(stable.meanFlicker!).toBeLessThan(plain.meanFlicker! * 0.5);

    const c = check(0.7);
    c.process(constant(0.2), constant(0.3));
    const moved = constant(0.8);
    c.process(constant(0.9), moved);
    expect(moved[0]).toBeCloseTo(0.8); // input changed by 0.7 > threshold: output untouched
  });

  it('rejects a strength outside [0, 1)', () => {
    expect(() => check(1)).toThrow(RangeError);
    expect(() => check(-0.1)).toThrow(RangeError);
  });
});
