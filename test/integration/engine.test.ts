import { describe, expect, it } from 'vitest';
import { InferenceRunError, StyleEngine } from '../../dist/models/engine.js';
import { inspectModel, providerInstalled } from '../../dist/models/ort/runtime.js';
import type { Conditioning } from '../../dist/models/contract.js';
import { FIXTURES, ROOT, TINY, TINY_B, WRONG_INPUT, tempDir } from '../support/helpers.js';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const H = 36;
const W = 44;

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i]! - b[i]!));
  return most;
}

function meanDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** A packed RGB test frame (or RGBA, alpha 255). */
function frame(width = W, height = H, channels: 3 | 4 = 3, shift = 0): Uint8Array {
  const data = new Uint8Array(channels * height * width);
  for (let i = 0; i < data.length; i++) data[i] = channels === 4 && i % 4 === 3 ? 255 : Math.round((((i + shift) % 97) / 97) * 255);
  return data;
}

/** One frame through the engine, RGB in and out unless told. */
function runOn(engine: StyleEngine, input: Uint8Array, options: { width?: number; height?: number; inputChannels?: 3 | 4; outputChannels?: 3 | 4 } = {}, conditioning?: Conditioning) {
  const { width = W, height = H, inputChannels = 3, outputChannels = 3 } = options;
  return engine.run({ width, height, input, inputChannels, output: new Uint8Array(width * height * outputChannels), outputChannels }, conditioning ?? null);
}

describe('StyleEngine (real ONNX Runtime in a worker thread)', () => {
  it('stylizes a frame of 8-bit pixels through the wrapped graph: same size, not the input, buffers handed back', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      expect(engine.provider).toBe('cpu');
      expect(engine.frameIo).toEqual({ kind: 'pixels' });
      // Inference yields the CPU to the ffmpeg children and the main thread (Linux: a thread's own nice value).
      if (process.platform === 'linux') expect(engine.niceness).toBeGreaterThanOrEqual(5);
      const input = frame();
      const expected = frame();
      const result = await runOn(engine, input);
      expect(input.byteLength).toBe(0); // transferred to the worker...
      expect(result.input).toEqual(expected); // ...and back, unchanged
      expect(result.output.length).toBe(expected.length);
      expect(meanDiff(result.output, expected)).toBeGreaterThan(5);
      expect(result.ms).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });

  it('the wrapped graph gives what the float tensors give (within one level), at padded odd sizes, RGB and RGBA', async () => {
    const models = [TINY, join(FIXTURES, 'tiny-subpixel.onnx')];
    for (const modelPath of models) {
      const pixels = await StyleEngine.open({ modelPath, device: 'cpu', threads: 1 });
      const floats = await StyleEngine.open({ modelPath, device: 'cpu', threads: 1, pixelGraph: false });
      try {
        expect(pixels.frameIo.kind).toBe('pixels');
        expect(floats.frameIo).toEqual({ kind: 'float', reason: 'the pixel wrap is off' });
        for (const [width, height, inputChannels, outputChannels] of [[W, H, 3, 3], [45, 37, 3, 4], [45, 37, 4, 3], [17, 9, 4, 4]] as const) {
          const options = { width, height, inputChannels, outputChannels };
          const a = await runOn(pixels, frame(width, height, inputChannels), options);
          const b = await runOn(floats, frame(width, height, inputChannels), options);
          expect(a.output.length).toBe(width * height * outputChannels);
          expect(maxDiff(a.output, b.output), `${modelPath} ${width}x${height} ${inputChannels}->${outputChannels}`).toBeLessThanOrEqual(1);
          if (outputChannels === 4) expect(a.output.filter((_, i) => i % 4 === 3).every((v) => v === 255)).toBe(true);
        }
      } finally {
        await Promise.all([pixels.close(), floats.close()]);
      }
    }
  });

  it('swaps models between frames without a new worker', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      const a = await runOn(engine, frame());
      await engine.loadModel(TINY_B);
      expect(engine.modelPath).toBe(TINY_B);
      const b = await runOn(engine, frame());
      expect(meanDiff(a.output, b.output)).toBeGreaterThan(2.5);
    } finally {
      await engine.close();
    }
  });

  it('rejects work after close, and close is idempotent', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    await engine.close();
    await engine.close();
    await expect(runOn(engine, frame())).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('reports a frame size that breaks the model as an inference error, and keeps working', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      await expect(runOn(engine, frame(2, 2), { width: 2, height: 2 })).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
      const ok = await runOn(engine, frame());
      expect(ok.output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });

  it('a failed run hands both buffers back (usable, not detached), so a pool stays whole', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      const input = frame();
      const output = new Uint8Array(3 * H * W);
      // A height that does not match the buffers makes the worker refuse the frame.
      const error = await engine.run({ width: W, height: H + 4, input, inputChannels: 3, output, outputChannels: 3 }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(InferenceRunError);
      const failed = error as InferenceRunError;
      expect(failed.code).toBe('INFERENCE_FAILED');
      expect(input.byteLength).toBe(0); // transferred away ...
      expect(failed.input!.length).toBe(3 * H * W); // ... and back
      expect(failed.output!.length).toBe(3 * H * W);
      const again = await engine.run({ width: W, height: H, input: failed.input!, inputChannels: 3, output: failed.output!, outputChannels: 3 }); // reusable as they are
      expect(again.output.some((v) => v > 0)).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('two lanes: runs in flight side by side on two workers, each output the one-lane output; a model swap reaches both', async () => {
    const one = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    const two = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 2, lanes: 2 });
    const inputs = [0, 1, 2, 3].map((k) => frame(W, H, 3, k * 20));
    const outputsOf = (engine: StyleEngine) => Promise.all(inputs.map((input) => runOn(engine, input.slice()).then((r) => r.output)));
    try {
      expect([one.laneCount, two.laneCount, two.threadsPerLane]).toEqual([1, 2, 1]);
      const expected = [];
      for (const input of inputs) expected.push((await runOn(one, input.slice())).output);
      const got = await outputsOf(two);
      for (let k = 0; k < inputs.length; k++) expect(maxDiff(got[k]!, expected[k]!)).toBe(0);
      await one.loadModel(TINY_B);
      await two.loadModel(TINY_B);
      const swappedOne = await outputsOf(one);
      const swappedTwo = await outputsOf(two);
      expect(maxDiff(swappedOne[0]!, expected[0]!)).toBeGreaterThan(2);
      for (let k = 0; k < inputs.length; k++) expect(maxDiff(swappedTwo[k]!, swappedOne[k]!)).toBe(0);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    await expect(runOn(two, frame())).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('batches: frames waiting while the lane is busy run together in one call, each output what it is run alone', async () => {
    const one = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1 });
    const batched = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1, batch: 4 });
    try {
      expect([one.batch, batched.batch]).toEqual([1, 4]);
      // Padded odd sizes and both output layouts: each frame of a batch is padded, run and cropped on its own.
      for (const [width, height, inputChannels, outputChannels] of [[W, H, 3, 3], [45, 37, 4, 4]] as const) {
        const options = { width, height, inputChannels, outputChannels };
        const inputs = Array.from({ length: 9 }, (_, k) => frame(width, height, inputChannels, k * 13));
        const expected = [];
        for (const input of inputs) expected.push((await runOn(one, input.slice(), options)).output);
        const before = batched.batchCounts;
        const got = await Promise.all(inputs.map((input) => runOn(batched, input.slice(), options)));
        const after = batched.batchCounts;
        for (let k = 0; k < inputs.length; k++) {
          expect(maxDiff(got[k]!.output, expected[k]!), `frame ${k} ${width}x${height}`).toBe(0);
          expect(got[k]!.input).toEqual(inputs[k]);
        }
        // The first frame goes alone (the lane was idle); the eight that waited behind it go four at a time.
        expect(after.frames - before.frames).toBe(9);
        expect(after.runs - before.runs).toBe(3);
      }
      // One frame at a time (live) is never held back for a batch to fill.
      const lone = await runOn(batched, frame());
      expect(lone.output.length).toBe(3 * H * W);
    } finally {
      await Promise.all([one.close(), batched.close()]);
    }
  });

  it('a failed batch fails every frame in it and hands each its own buffers back', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1, batch: 3 });
    try {
      const busy = runOn(engine, frame());
      const small = [0, 1, 2].map((k) => frame(2, 2, 3, k));
      const outcomes = await Promise.all(small.map((input) => runOn(engine, input.slice(), { width: 2, height: 2 }).then(() => null, (e: unknown) => e)));
      await busy;
      expect(engine.batchCounts.runs).toBe(2);
      outcomes.forEach((outcome, k) => {
        expect(outcome).toBeInstanceOf(InferenceRunError);
        expect((outcome as InferenceRunError).code).toBe('INFERENCE_FAILED');
        expect((outcome as InferenceRunError).input).toEqual(small[k]);
      });
      expect((await runOn(engine, frame())).output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
    await expect(StyleEngine.open({ modelPath: TINY, device: 'cpu', batch: 0 })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/batch must be a whole number from 1 to 64/) });
  });

  it('keeps the frame\'s own colour on request: the painting\'s luminance stays, the chroma becomes the frame\'s', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1 });
    const luma = (d: Uint8Array, i: number) => 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
    try {
      const input = frame();
      const run = (keepColour?: number) => engine.run({ width: W, height: H, input: input.slice(), inputChannels: 3, output: new Uint8Array(3 * W * H), outputChannels: 3, ...(keepColour === undefined ? {} : { keepColour }) });
      const [plain, none, half, full] = [await run(), await run(0), await run(0.5), await run(1)];
      expect(maxDiff(none.output, plain.output)).toBe(0);
      let lumaGap = 0;
      let chromaGap = 0;
      let chromaGapBefore = 0;
      let counted = 0;
      for (let i = 0; i < input.length; i += 3) {
        lumaGap += Math.abs(luma(full.output, i) - luma(plain.output, i));
        // Pixels the clip to [0, 255] leaves alone: there the frame's chroma comes through exactly.
        if ([0, 1, 2].every((c) => full.output[i + c]! > 2 && full.output[i + c]! < 253)) {
          const chroma = (d: Uint8Array) => [0, 1, 2].map((c) => d[i + c]! - luma(d, i));
          const [a, b, c] = [chroma(full.output), chroma(input), chroma(plain.output)];
          chromaGap += Math.max(...a.map((v, k) => Math.abs(v - b[k]!)));
          chromaGapBefore += Math.max(...c.map((v, k) => Math.abs(v - b[k]!)));
          counted++;
        }
      }
      expect(counted).toBeGreaterThan(input.length / 3 / 4);
      expect(lumaGap / (input.length / 3)).toBeLessThan(1.5); // the strokes' light and shade unchanged
      expect(chromaGap / counted).toBeLessThan(1.5); // the frame's colour, to rounding
      expect(chromaGapBefore / counted).toBeGreaterThan(10); // which the stylized frame had not kept
      expect(meanDiff(half.output, plain.output)).toBeGreaterThan(1);
      expect(meanDiff(half.output, full.output)).toBeGreaterThan(1);
      // Back to 0: the plain wrap again, the output as the model made it.
      expect(maxDiff((await run(0)).output, plain.output)).toBe(0);
      await expect(run(1.5)).rejects.toMatchObject({ code: 'USAGE', message: 'keepColour must be from 0 to 1, got 1.5' });
    } finally {
      await engine.close();
    }
  });

  it('refuses models that break the contract or are not ONNX, naming the file', async () => {
    await expect(StyleEngine.open({ modelPath: WRONG_INPUT, device: 'cpu' })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(/wrong-input\.onnx does not follow the model contract: input is named "image"/),
    });
    const dir = await tempDir();
    try {
      const text = join(dir.path, 'notes.onnx');
      await writeFile(text, 'this is not a model\n');
      await expect(inspectModel(text)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(/notes\.onnx is not a valid ONNX model/) });
      await expect(StyleEngine.open({ modelPath: join(dir.path, 'missing.onnx'), device: 'cpu' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    } finally {
      await dir.cleanup();
    }
  });

  it.skipIf(providerInstalled('cuda'))('--device cuda without the CUDA provider is a clear error', async () => {
    await expect(StyleEngine.open({ modelPath: TINY, device: 'cuda' })).rejects.toMatchObject({
      code: 'DEVICE_UNAVAILABLE',
      message: expect.stringMatching(/CUDA execution provider could not be loaded/),
    });
    const auto = await StyleEngine.open({ modelPath: TINY, device: 'auto', threads: 1 });
    expect(auto.provider).toBe('cpu');
    expect(auto.skipped[0]?.provider).toBe('cuda');
    await auto.close();
  });

  const gpu = providerInstalled('cuda') && process.env.STYLECAST_TEST_CUDA === '1';
  it.skipIf(!gpu)('runs on the CUDA provider (only with a GPU, the provider installed and STYLECAST_TEST_CUDA=1)', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cuda' });
    try {
      expect(engine.provider).toBe('cuda');
      expect(engine.frameIo.kind).toBe('pixels');
      const r = await runOn(engine, frame());
      expect(r.output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });
});

describe('StyleEngine with an any-painting model (contract 2, real ONNX Runtime)', () => {
  const COLOUR = join(FIXTURES, 'tiny-colour.onnx');
  const channelMeans = (data: Uint8Array) => [0, 1, 2].map((c) => data.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / (data.length / 3) / 255);

  it('encodes a painting once, then paints with its vector; strength 0 leaves the frame', async () => {
    const engine = await StyleEngine.open({ modelPath: COLOUR, device: 'cpu', threads: 1 });
    try {
      expect(engine.styleLength).toBe(6);
      const painting = new Float32Array(3 * 20 * 24);
      for (let i = 0; i < painting.length; i++) painting[i] = [0.8, 0.3, 0.2][Math.floor(i / (20 * 24))]! + ((i % 7) - 3) * 0.02;
      const style = await engine.encodeStyle(painting, 20, 24);
      expect(style.length).toBe(6);
      expect([...style.subarray(0, 3)].map((v) => Number(v.toFixed(2)))).toEqual([0.8, 0.3, 0.2]);
      expect(engine.frameIo.kind).toBe('pixels');
      const painted = await runOn(engine, frame(), {}, { style, strength: 1 });
      expect(channelMeans(painted.output).map((v) => Number(v.toFixed(2)))).toEqual([0.8, 0.3, 0.2]);
      const untouched = await runOn(engine, frame(), {}, { style, strength: 0 });
      expect(maxDiff(untouched.output, frame())).toBeLessThanOrEqual(1);
      // No painting yet (a live switch): the frame as it is, not an error.
      const neutral = await runOn(engine, frame());
      expect(maxDiff(neutral.output, frame())).toBeLessThanOrEqual(1);
      await expect(runOn(engine, frame(), {}, { style: new Float32Array(5), strength: 1 })).rejects.toThrow(/5 numbers; this model takes 6/);
    } finally {
      await engine.close();
    }
  });

  it('runs one frame per call whatever the batch asked (its conditioning has batch 1)', async () => {
    const engine = await StyleEngine.open({ modelPath: COLOUR, device: 'cpu', threads: 1, lanes: 1, batch: 4 });
    try {
      expect(engine.batch).toBe(1);
      const conditioning = { style: new Float32Array([0.8, 0.3, 0.2, 0.1, 0.1, 0.1]), strength: 1 };
      const got = await Promise.all([0, 1, 2].map((k) => runOn(engine, frame(W, H, 3, k), {}, conditioning)));
      expect(got.every((r) => r.output.length === 3 * H * W)).toBe(true);
      expect(engine.batchCounts).toEqual({ runs: 3, frames: 3 });
    } finally {
      await engine.close();
    }
  });

  it('a one-style model takes no painting; a missing style encoder is named', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      expect(engine.styleLength).toBeNull();
      await expect(engine.encodeStyle(new Float32Array(3 * 8 * 8), 8, 8)).rejects.toThrow(/one style built in/);
    } finally {
      await engine.close();
    }
    const dir = await tempDir();
    try {
      const lone = join(dir.path, 'lone.onnx');
      await copyFile(COLOUR, lone);
      await expect(StyleEngine.open({ modelPath: lone, device: 'cpu', threads: 1 })).rejects.toThrow(/style encoder file not found: .*lone\.style\.onnx/);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('closing while a frame is in flight', () => {
  it('a process that closes its engine mid-run and exits as the CLI does ends with its own exit code, not an abort', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      const { StyleEngine, workersLetGo } = await import('${join(ROOT, 'dist', 'models', 'engine.js')}');
      const engine = await StyleEngine.open({ modelPath: '${TINY}', device: 'cpu', threads: 1, lanes: 1, closeDeadlineMs: 1 });
      const [h, w] = [2160, 3840];
      const input = new Uint8Array(3 * h * w).fill(128);
      const running = engine.run({ width: w, height: h, input, inputChannels: 3, output: new Uint8Array(input.length), outputChannels: 3 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
      await engine.close();
      await running;
      console.log('let go:', workersLetGo().count);
      await workersLetGo().ended;
      process.exit(130);`;
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'close-mid-run.mjs'); // a file, not -e: workers inherit the flags of -e
      await writeFile(file, script);
      for (let round = 0; round < 3; round++) {
        const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
        expect(r.stderr).not.toMatch(/terminate called|Napi::Error/);
        expect(r.status, r.stderr).toBe(130);
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('never terminates a worker inside a run: close returns at its deadline, the process lives, again and again', async () => {
    const [h, w] = [1080, 1920];
    for (let round = 0; round < 6; round++) {
      const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1, closeDeadlineMs: 1 });
      const input = new Uint8Array(3 * h * w).fill(128);
      const running = engine.run({ width: w, height: h, input, inputChannels: 3, output: new Uint8Array(input.length), outputChannels: 3 }).catch((error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 5 * round)); // close at different points of the run
      const started = performance.now();
      await engine.close();
      expect(performance.now() - started).toBeLessThan(1500);
      const outcome = await running;
      expect(outcome instanceof Error ? outcome.message : 'ran').toMatch(/closed|ran/);
    }
    // Still alive and able to infer (a terminated run would have aborted this process).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1, lanes: 1 });
    try {
      expect((await runOn(engine, frame())).output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });
});
