import { describe, expect, it } from 'vitest';
import { CreditGate, FramePool } from '../../dist/pipeline/flow-control.js';
import { parseSizeRequest, resolveSize } from '../../dist/pipeline/sizing.js';
import { formatDuration, progressLine } from '../../dist/cli/progress.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/helpers.js';

const SIZING = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'sizing.json'), 'utf8')) as { modelSize: unknown; workingSize: unknown };

describe('CreditGate', () => {
  it('holds acquirers beyond capacity until a release', async () => {
    const gate = new CreditGate(2);
    await gate.acquire();
    await gate.acquire();
    expect(gate.inFlight).toBe(2);
    let third = false;
    const waiting = gate.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    gate.release();
    await waiting;
    expect(third).toBe(true);
  });

  it('fails waiters and later acquires once cancelled', async () => {
    const gate = new CreditGate(1);
    await gate.acquire();
    const waiting = gate.acquire();
    gate.cancel(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(gate.acquire()).rejects.toThrow('stop');
  });
});

describe('FramePool', () => {
  it('reuses released buffers and ignores detached or foreign ones', () => {
    const pool = new FramePool(12);
    const a = pool.acquire();
    pool.release(a);
    expect(pool.acquire()).toBe(a);
    pool.release(new Uint8Array(5));
    expect(pool.acquire()).not.toHaveLength(5);
    expect(pool.allocated).toBe(2);
    // A buffer transferred to the worker and never returned is detached (length 0): not kept.
    const sent = pool.acquire();
    structuredClone(sent.buffer, { transfer: [sent.buffer] });
    expect(sent.byteLength).toBe(0);
    pool.release(sent);
    const next = pool.acquire();
    expect(next === sent).toBe(false);
    expect(next).toHaveLength(12);
  });
});

describe('sizing', () => {
  it('parses --size and --height', () => {
    expect(parseSizeRequest('640x360', undefined)).toEqual({ kind: 'exact', width: 640, height: 360 });
    expect(parseSizeRequest(undefined, '360')).toEqual({ kind: 'height', height: 360 });
    expect(parseSizeRequest(undefined, undefined)).toEqual({ kind: 'source' });
    expect(() => parseSizeRequest('640', undefined)).toThrow(/640x360/);
    expect(() => parseSizeRequest(undefined, '3')).toThrow(/between 16 and 8192/);
    expect(() => parseSizeRequest('64x64', '64')).toThrow(/not both/);
  });

  it('keeps the aspect ratio with an even width for --height', () => {
    expect(resolveSize({ width: 1920, height: 1080 }, { kind: 'height', height: 360 })).toEqual({ width: 640, height: 360 });
    expect(resolveSize({ width: 481, height: 321 }, { kind: 'height', height: 100 })).toEqual({ width: 150, height: 100 });
    expect(resolveSize({ width: 5, height: 7 }, { kind: 'source' })).toEqual({ width: 5, height: 7 });
  });
});

describe('progress text', () => {
  it('formats durations and progress lines', () => {
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('--:--');
    const line = progressLine({ frames: 30, totalFrames: 60, elapsedSeconds: 2, fps: 15, etaSeconds: 2, flicker: 1.234, inferenceMs: 40 });
    expect(line).toBe('frames 30/60 (50%) 15.0 fps ETA 0:02 model 40 ms flicker 1.23');
  });
});

describe('internal size', () => {
  it('scales to even sizes of at least 16 px', async () => {
    const { modelSizeFor } = await import('../../dist/pipeline/sizing.js');
    expect(modelSizeFor({ width: 640, height: 360 }, 0.5)).toEqual({ width: 320, height: 180 });
    expect(modelSizeFor({ width: 641, height: 361 }, 1)).toEqual({ width: 641, height: 361 });
    expect(modelSizeFor({ width: 40, height: 20 }, 0.25)).toEqual({ width: 16, height: 16 });
    expect(() => modelSizeFor({ width: 40, height: 20 }, 0)).toThrow(/model scale/);
    // One table for both languages (test/fixtures/sizing.json): halves round up.
    for (const [dim, scale, expected] of SIZING.modelSize as Array<[number, number, number]>) {
      expect(modelSizeFor({ width: dim, height: dim }, scale).width).toBe(expected);
    }
  });
});

describe('working size (a model paints strokes for its own short side)', () => {
  // One table for both languages (test/fixtures/sizing.json).
  const table = SIZING.workingSize as Array<[[number, number, number, number | null, number], [number, number]]>;
  it('runs at the working size divided by the stroke scale, never above the output size', async () => {
    const { workingModelSize } = await import('../../dist/pipeline/sizing.js');
    for (const [[width, height, modelScale, nativeShortSide, strokeScale], [w, h]] of table) {
      expect(workingModelSize({ width, height }, { modelScale, nativeShortSide, strokeScale })).toEqual({ width: w, height: h });
    }
  });
  it('refuses a stroke scale out of range, in one line', async () => {
    const { parseStrokeScale, workingModelSize } = await import('../../dist/pipeline/sizing.js');
    expect(parseStrokeScale(undefined)).toBe(1);
    expect(parseStrokeScale('2')).toBe(2);
    for (const bad of ['0', '5', 'big', 'NaN', '-1']) expect(() => parseStrokeScale(bad)).toThrow(/--stroke-scale must be a number from 0.25 to 4/);
    expect(() => workingModelSize({ width: 64, height: 64 }, { modelScale: 1, nativeShortSide: 32, strokeScale: 0.1 })).toThrow(/stroke scale/);
  });
});

describe('bicubic resize (the runtime\'s enlargement, as torch and trainer eval enlarge)', () => {
  it('matches torch interpolate(bicubic, align_corners=False) on 5x3 noise -> 12x7, 2 channels', async () => {
    const { resizeBicubic } = await import('../../dist/pipeline/resize.js');
    // Generated with torch 1.13: F.interpolate(x, size=(7, 12), mode="bicubic", align_corners=False), clamped and rounded.
    const src = new Uint8Array([21, 60, 204, 148, 24, 110, 122, 40, 187, 28, 99, 131, 109, 149, 188, 243, 72, 165, 177, 74, 0, 248, 76, 80, 227, 149, 120, 197, 7, 180]);
    const expected = [0, 42, 36, 63, 144, 110, 214, 146, 153, 144, 38, 114, 6, 78, 63, 48, 133, 24, 167, 18, 183, 23, 195, 23, 14, 58, 50, 76, 135, 114, 192, 147, 152, 155, 68, 141, 40, 112, 72, 82, 120, 52, 156, 37, 181, 34, 196, 30, 68, 82, 85, 95, 122, 121, 151, 152, 149, 184, 127, 200, 104, 187, 83, 151, 91, 105, 136, 71, 187, 50, 211, 36, 98, 129, 99, 132, 97, 131, 106, 146, 146, 190, 185, 234, 172, 240, 107, 209, 72, 160, 108, 116, 165, 83, 189, 64, 63, 195, 66, 180, 63, 141, 81, 120, 145, 150, 210, 200, 210, 224, 142, 215, 84, 189, 81, 158, 101, 130, 107, 116, 6, 251, 18, 219, 34, 147, 72, 91, 146, 97, 210, 142, 220, 176, 173, 191, 108, 195, 63, 186, 35, 171, 18, 165, 0, 255, 0, 240, 19, 151, 65, 77, 146, 72, 215, 116, 231, 157, 189, 184, 118, 202, 53, 203, 2, 193, 0, 191];
    const dst = new Uint8Array(12 * 7 * 2);
    resizeBicubic(src, 5, 3, dst, 12, 7, 2);
    const worst = Math.max(...[...dst].map((v, i) => Math.abs(v - expected[i]!)));
    expect(worst).toBeLessThanOrEqual(1); // float rounding at .5 may differ by one level
  });
  it('keeps a flat picture flat and refuses short buffers', async () => {
    const { resizeBicubic } = await import('../../dist/pipeline/resize.js');
    const dst = new Uint8Array(9 * 5 * 3);
    resizeBicubic(new Uint8Array(4 * 2 * 3).fill(77), 4, 2, dst, 9, 5, 3);
    expect(new Set(dst)).toEqual(new Set([77]));
    expect(() => resizeBicubic(new Uint8Array(3), 4, 2, dst, 9, 5, 3)).toThrow(RangeError);
  });
});

describe('bilinear resize (half-pixel centres, as the trainer upsamples)', () => {
  it('matches torch interpolate(bilinear, align_corners=False) on a 2x1 -> 4x1 ramp', async () => {
    const { resizeBilinear } = await import('../../dist/pipeline/resize.js');
    const dst = new Uint8Array(4);
    resizeBilinear(new Uint8Array([0, 200]), 2, 1, dst, 4, 1, 1);
    // torch: [0, 50, 150, 200]
    expect([...dst]).toEqual([0, 50, 150, 200]);
  });

  it('keeps a constant image constant, per channel, up and down', async () => {
    const { resizeBilinear } = await import('../../dist/pipeline/resize.js');
    const src = new Uint8Array(6 * 4 * 4);
    for (let i = 0; i < src.length; i += 4) src.set([10, 120, 250, 255], i);
    for (const [w, h] of [[12, 8], [3, 2], [7, 5]] as const) {
      const dst = new Uint8Array(w * h * 4);
      resizeBilinear(src, 6, 4, dst, w, h, 4);
      for (let i = 0; i < dst.length; i += 4) expect([...dst.subarray(i, i + 4)]).toEqual([10, 120, 250, 255]);
    }
  });

  it('refuses buffers smaller than their sizes', async () => {
    const { resizeBilinear } = await import('../../dist/pipeline/resize.js');
    expect(() => resizeBilinear(new Uint8Array(3), 2, 2, new Uint8Array(16), 4, 4, 1)).toThrow(RangeError);
  });
});

describe('paintings (pure parts)', () => {
  it('reads a painting at its short side, aspect kept up to 4:1, even sides', async () => {
    const { paintingSizeFor } = await import('../../dist/pipeline/painting.js');
    expect(paintingSizeFor({ width: 1000, height: 500 }, 512)).toEqual({ width: 1024, height: 512 });
    expect(paintingSizeFor({ width: 300, height: 451 }, 512)).toEqual({ width: 512, height: 770 });
    expect(paintingSizeFor({ width: 8000, height: 100 }, 256)).toEqual({ width: 1024, height: 256 });
  });

  it('blends style vectors and builds the conditioning', async () => {
    const { blendStyles, conditioningFor } = await import('../../dist/pipeline/painting.js');
    const a = new Float32Array([0, 10]);
    const b = new Float32Array([4, 20]);
    expect([...blendStyles(a, b, 0.25)]).toEqual([1, 12.5]);
    expect(conditioningFor({ styles: [a], blend: 0.9, strength: 0.3 })).toEqual({ style: a, strength: 0.3 });
    expect([...conditioningFor({ styles: [a, b], blend: 1, strength: 1 }).style]).toEqual([4, 20]);
    expect(() => blendStyles(a, new Float32Array(3), 0.5)).toThrow(/differ in length \(2 and 3\)/);
  });

  it('sniffs uploads: size cap first, then the type by its first bytes', async () => {
    const { sniffPainting } = await import('../../dist/pipeline/painting.js');
    const bytes = (...head: number[]) => Uint8Array.from([...head, ...new Array(32).fill(0)]);
    expect(sniffPainting(bytes(0xff, 0xd8, 0xff))).toBe('jpeg');
    expect(sniffPainting(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('png');
    expect(sniffPainting(Uint8Array.from([...'RIFF\0\0\0\0WEBPVP8 '].map((c) => c.charCodeAt(0))))).toBe('webp');
    expect(() => sniffPainting(bytes(0x3c, 0x73, 0x76, 0x67))).toThrow(/not a JPEG, PNG, WebP or BMP image/);
    expect(() => sniffPainting(new Uint8Array(0))).toThrow(/empty/);
    expect(() => sniffPainting(bytes(0xff, 0xd8, 0xff), 10)).toThrow(/limit is 0 MB/);
  });

  it('fractions from flags and messages', async () => {
    const { parseFraction } = await import('../../dist/pipeline/painting.js');
    expect(parseFraction('0.3', '--blend')).toBe(0.3);
    expect(parseFraction(1, 'strength')).toBe(1);
    for (const bad of ['', 'x', '1.5', -0.1, Number.NaN, null]) expect(() => parseFraction(bad, '--blend')).toThrow(/--blend must be a number from 0 to 1/);
  });
});
