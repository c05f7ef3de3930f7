// A live fMP4 viewer's queue, bounded in seconds of the stream (pure: bytes and times in, decisions out).
import { describe, expect, it } from 'vitest';
import { MAX_HIGH_WATERMARK, MIN_HIGH_WATERMARK, StreamRate, ViewerGate } from '../../dist/transport/fmp4/viewer-gate.js';

/** 30 fragments a second for `seconds`: a keyframe of `keyframe` bytes each second, `delta` bytes otherwise. */
function feed(rate: StreamRate, seconds: number, keyframe: number, delta: number, startMs = 0): number {
  let at = startMs;
  for (let i = 0; i < seconds * 30; i++, at += 1000 / 30) rate.add(i % 30 === 0 ? keyframe : delta, at);
  return at;
}

describe('StreamRate', () => {
  it('measures the byte rate over its window and follows a change of bitrate', () => {
    const rate = new StreamRate();
    expect(rate.bytesPerSecond).toBe(0);
    const at = feed(rate, 3, 3000, 3000);
    expect(rate.bytesPerSecond).toBeGreaterThan(85_000);
    expect(rate.bytesPerSecond).toBeLessThan(95_000);
    feed(rate, 3, 30_000, 30_000, at);
    expect(rate.bytesPerSecond).toBeGreaterThan(850_000);
    expect(rate.bytesPerSecond).toBeLessThan(950_000);
  });

  it('allows a second of the stream plus its largest keyframe, within the bounds', () => {
    const still = new StreamRate();
    feed(still, 3, 60_000, 1_500); // a still scene: the keyframes are most of the bytes (about 100 KB/s)
    const high = still.highWatermark();
    expect(still.largestFragment).toBe(60_000);
    expect(high).toBeGreaterThan(still.bytesPerSecond + 59_000);
    expect(high).toBeLessThan(still.bytesPerSecond + 61_000 + 1);
    expect(high).toBeLessThan(1 << 20); // the fixed 1 MB allowance was ten seconds of this stream
    const busy = new StreamRate();
    feed(busy, 3, 200_000, 100_000);
    expect(busy.highWatermark()).toBe(MAX_HIGH_WATERMARK);
    expect(new StreamRate().highWatermark()).toBe(MIN_HIGH_WATERMARK);
  });
});

describe('ViewerGate', () => {
  it('starts on a keyframe, drops above the watermark, and resumes only drained and on a keyframe', () => {
    const gate = new ViewerGate();
    const high = 100_000;
    expect(gate.admit(0, false, high)).toBe(false); // a new viewer waits for a picture it can decode
    expect(gate.admit(0, true, high)).toBe(true);
    expect(gate.admit(90_000, false, high)).toBe(true);
    expect(gate.admit(120_000, false, high)).toBe(false); // fell behind
    expect(gate.admit(10_000, false, high)).toBe(false); // drained, but no keyframe yet
    expect(gate.admit(30_000, true, high)).toBe(false); // a keyframe, not drained to a quarter
    expect(gate.admit(20_000, true, high)).toBe(true);
    expect(gate.dropped).toBe(4);
    gate.restart();
    expect(gate.admit(0, false, high)).toBe(false);
  });
});
