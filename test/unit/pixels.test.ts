import { describe, expect, it } from 'vitest';
import { cropPixels, padPixels, rgbToTensor, tensorSizeFor, tensorToRgb } from '../../dist/models/pixels.js';

function randomFrame(width: number, height: number, seed = 1): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return data;
}

describe('tensor conversion', () => {
  it('rounds the tensor size up to multiples of 4', () => {
    expect(tensorSizeFor({ width: 640, height: 360 })).toEqual({ tensorWidth: 640, tensorHeight: 360 });
    expect(tensorSizeFor({ width: 161, height: 121 })).toEqual({ tensorWidth: 164, tensorHeight: 124 });
  });

  it('round-trips RGB24 exactly, including padded odd sizes', () => {
    for (const [w, h] of [[8, 4], [161, 121], [5, 3]] as const) {
      const { tensorWidth, tensorHeight } = tensorSizeFor({ width: w, height: h });
      const rgb = randomFrame(w, h);
      const tensor = new Float32Array(tensorWidth * tensorHeight * 3);
      rgbToTensor(rgb, w, h, tensor, tensorWidth, tensorHeight);
      const back = new Uint8Array(w * h * 3);
      tensorToRgb(tensor, tensorWidth, tensorHeight, w, h, back);
      expect(Buffer.from(back).equals(Buffer.from(rgb))).toBe(true);
    }
  });

  it('lays out planar NCHW in [0, 1] and repeats edge pixels into the padding', () => {
    const rgb = new Uint8Array([255, 0, 51, 0, 255, 102]); // 2x1: red-ish, green-ish
    const tensor = new Float32Array(4 * 4 * 3);
    rgbToTensor(rgb, 2, 1, tensor, 4, 4);
    const plane = 16;
    expect(tensor[0]).toBeCloseTo(1);
    expect(tensor[1]).toBeCloseTo(0);
    expect(tensor[plane + 1]).toBeCloseTo(1);
    expect(tensor[2 * plane]).toBeCloseTo(0.2);
    expect(tensor[3]).toBeCloseTo(0); // padded column repeats x = 1 (R = 0)
    expect(tensor[2 * plane + 15]).toBeCloseTo(0.4); // bottom-right padding repeats pixel (1, 0)
  });

  it('clamps out-of-range and NaN outputs', () => {
    // A 4x1 tensor holding a 1x1 frame: R, G, B are read at 0, 4 and 8; the rest is padding.
    const tensor = new Float32Array([-0.5, 9, 9, 9, Number.NaN, 9, 9, 9, 1.5, 9, 9, 9]);
    const out = new Uint8Array(3);
    tensorToRgb(tensor, 4, 1, 1, 1, out);
    expect([...out]).toEqual([0, 0, 255]);
    tensorToRgb(new Float32Array([1.5, 0, 0, 0, -1, 0, 0, 0, 0.5004, 0, 0, 0]), 4, 1, 1, 1, out);
    expect([...out]).toEqual([255, 0, 128]);
  });

  it('rejects buffers that are too small', () => {
    expect(() => rgbToTensor(new Uint8Array(3), 2, 2, new Float32Array(48), 4, 4)).toThrow(/frame buffer too small/);
    expect(() => rgbToTensor(new Uint8Array(12), 2, 2, new Float32Array(10), 4, 4)).toThrow(/tensor buffer too small/);
  });
});

describe('padding and cropping packed pixels', () => {
  it('pads by repeating the last column and row, and crops back to the same bytes', () => {
    for (const channels of [3, 4] as const) {
      const [w, h] = [5, 3];
      const src = Uint8Array.from({ length: w * h * channels }, (_, i) => i);
      const padded = new Uint8Array(8 * 4 * channels);
      padPixels(src, w, h, channels, padded, 8, 4);
      const at = (x: number, y: number) => Array.from(padded.subarray((y * 8 + x) * channels, (y * 8 + x + 1) * channels));
      const source = (x: number, y: number) => Array.from(src.subarray((y * w + x) * channels, (y * w + x + 1) * channels));
      expect(at(0, 0)).toEqual(source(0, 0));
      expect(at(7, 1)).toEqual(source(4, 1)); // right edge repeated
      expect(at(2, 3)).toEqual(source(2, 2)); // bottom row repeated
      expect(at(7, 3)).toEqual(source(4, 2)); // corner
      if (channels === 3) {
        const back = new Uint8Array(w * h * 3);
        cropPixels(padded, 8, 4, w, h, back, 3);
        expect(back).toEqual(src);
      }
    }
  });

  it('crops RGB to RGBA with opaque alpha', () => {
    const padded = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => i);
    const out = new Uint8Array(3 * 2 * 4);
    cropPixels(padded, 4, 4, 3, 2, out, 4);
    expect(Array.from(out.subarray(0, 8))).toEqual([0, 1, 2, 255, 3, 4, 5, 255]);
    expect(Array.from(out.subarray(12, 16))).toEqual([12, 13, 14, 255]); // row 1 starts at padded pixel 4
  });

  it('refuses buffers too small for the sizes', () => {
    expect(() => padPixels(new Uint8Array(3), 2, 2, 3, new Uint8Array(48), 4, 4)).toThrow(RangeError);
    expect(() => cropPixels(new Uint8Array(48), 4, 4, 2, 2, new Uint8Array(3), 3)).toThrow(RangeError);
  });
});
