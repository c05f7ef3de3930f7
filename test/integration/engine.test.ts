import { describe, expect, it } from 'vitest';
import { InferenceRunError, StyleEngine } from '../../dist/models/engine.js';
import { inspectModel, providerInstalled } from '../../dist/models/ort/runtime.js';
import { FIXTURES, ROOT, TINY, TINY_B, WRONG_INPUT, tempDir } from '../helpers.js';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const H = 36;
const W = 44;

function maxDiff(a: Float32Array, b: Float32Array): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i]! - b[i]!));
  return most;
}

function frame(): Float32Array {
  const data = new Float32Array(3 * H * W);
  for (let i = 0; i < data.length; i++) data[i] = (i % 97) / 97;
  return data;
}

describe('StyleEngine (real ONNX Runtime in a worker thread)', () => {
  it('stylizes a frame: same shape, values in [0, 1], not the input, buffers handed back', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      expect(engine.provider).toBe('cpu');
      const input = frame();
      const expected = frame();
      const output = new Float32Array(input.length);
      const result = await engine.run(input, output, H, W);
      expect(input.byteLength).toBe(0); // transferred to the worker...
      expect(result.input.length).toBe(expected.length); // ...and back, unchanged
      expect(result.input).toEqual(expected);
      expect(result.output.length).toBe(expected.length);
      let min = Infinity;
      let max = -Infinity;
      let diff = 0;
      for (let i = 0; i < expected.length; i++) {
        min = Math.min(min, result.output[i]!);
        max = Math.max(max, result.output[i]!);
        diff += Math.abs(result.output[i]! - expected[i]!);
      }
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThanOrEqual(1);
      expect(diff / expected.length).toBeGreaterThan(0.02);
      expect(result.ms).toBeGreaterThan(0);
    } finally {
      await engine.close();
    }
  });

  it('swaps models between frames without a new worker', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      const a = await engine.run(frame(), new Float32Array(3 * H * W), H, W);
      await engine.loadModel(TINY_B);
      expect(engine.modelPath).toBe(TINY_B);
      const b = await engine.run(frame(), new Float32Array(3 * H * W), H, W);
      let diff = 0;
      for (let i = 0; i < a.output.length; i++) diff += Math.abs(a.output[i]! - b.output[i]!);
      expect(diff / a.output.length).toBeGreaterThan(0.01);
    } finally {
      await engine.close();
    }
  });

  it('rejects work after close, and close is idempotent', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    await engine.close();
    await engine.close();
    await expect(engine.run(frame(), new Float32Array(3 * H * W), H, W)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('reports a frame size that breaks the model as an inference error, and keeps working', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      await expect(engine.run(new Float32Array(3 * 2 * 2), new Float32Array(12), 2, 2)).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
      const ok = await engine.run(frame(), new Float32Array(3 * H * W), H, W);
      expect(ok.output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });

  it('a failed run hands both buffers back (usable, not detached), so a pool stays whole', async () => {
    const engine = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    try {
      const input = frame();
      const output = new Float32Array(3 * H * W);
      // The wrong height makes ONNX Runtime refuse the tensor inside the worker.
      const error = await engine.run(input, output, H + 4, W).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(InferenceRunError);
      const failed = error as InferenceRunError;
      expect(input.byteLength).toBe(0); // transferred away ...
      expect(failed.input!.length).toBe(3 * H * W); // ... and back
      expect(failed.output!.length).toBe(3 * H * W);
      const again = await engine.run(failed.input!, failed.output!, H, W); // reusable as they are
      expect(again.output.some((v) => v > 0)).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('two lanes: runs in flight side by side on two workers, each output the one-lane output; a model swap reaches both', async () => {
    const one = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 1 });
    const two = await StyleEngine.open({ modelPath: TINY, device: 'cpu', threads: 2, lanes: 2 });
    const inputs = [0, 1, 2, 3].map((k) => frame().map((v) => (v + k * 0.2) % 1));
    const outputsOf = (engine: StyleEngine) =>
      Promise.all(inputs.map((input) => engine.run(input.slice(), new Float32Array(input.length), H, W).then((r) => r.output)));
    try {
      expect([one.laneCount, two.laneCount, two.threadsPerLane]).toEqual([1, 2, 1]);
      const expected = [];
      for (const input of inputs) expected.push((await one.run(input.slice(), new Float32Array(input.length), H, W)).output);
      const got = await outputsOf(two);
      for (let k = 0; k < inputs.length; k++) expect(maxDiff(got[k]!, expected[k]!)).toBeLessThan(1e-6);
      await one.loadModel(TINY_B);
      await two.loadModel(TINY_B);
      const swappedOne = await outputsOf(one);
      const swappedTwo = await outputsOf(two);
      expect(maxDiff(swappedOne[0]!, expected[0]!)).toBeGreaterThan(0.01);
      for (let k = 0; k < inputs.length; k++) expect(maxDiff(swappedTwo[k]!, swappedOne[k]!)).toBeLessThan(1e-6);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    await expect(two.run(frame(), new Float32Array(3 * H * W), H, W)).rejects.toMatchObject({ code: 'CLOSED' });
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
      const r = await engine.run(frame(), new Float32Array(3 * H * W), H, W);
      expect(r.output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });
});

describe('StyleEngine with an any-painting model (contract 2, real ONNX Runtime)', () => {
  const COLOUR = join(FIXTURES, 'tiny-colour.onnx');
  const channelMeans = (data: Float32Array, plane: number) => [0, 1, 2].map((c) => data.subarray(c * plane, (c + 1) * plane).reduce((s, v) => s + v, 0) / plane);

  it('encodes a painting once, then paints with its vector; strength 0 leaves the frame', async () => {
    const engine = await StyleEngine.open({ modelPath: COLOUR, device: 'cpu', threads: 1 });
    try {
      expect(engine.styleLength).toBe(6);
      const painting = new Float32Array(3 * 20 * 24);
      for (let i = 0; i < painting.length; i++) painting[i] = [0.8, 0.3, 0.2][Math.floor(i / (20 * 24))]! + ((i % 7) - 3) * 0.02;
      const style = await engine.encodeStyle(painting, 20, 24);
      expect(style.length).toBe(6);
      expect([...style.subarray(0, 3)].map((v) => Number(v.toFixed(2)))).toEqual([0.8, 0.3, 0.2]);
      const painted = await engine.run(frame(), new Float32Array(3 * H * W), H, W, { style, strength: 1 });
      expect(channelMeans(painted.output, H * W).map((v) => Number(v.toFixed(2)))).toEqual([0.8, 0.3, 0.2]);
      const untouched = await engine.run(frame(), new Float32Array(3 * H * W), H, W, { style, strength: 0 });
      expect(Math.max(...untouched.output.map((v, i) => Math.abs(v - frame()[i]!)))).toBeLessThan(1e-4);
      // No painting yet (a live switch): the frame as it is, not an error.
      const neutral = await engine.run(frame(), new Float32Array(3 * H * W), H, W);
      expect(Math.max(...neutral.output.map((v, i) => Math.abs(v - frame()[i]!)))).toBeLessThan(1e-4);
      await expect(engine.run(frame(), new Float32Array(3 * H * W), H, W, { style: new Float32Array(5), strength: 1 })).rejects.toThrow(/5 numbers; this model takes 6/);
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
      const input = new Float32Array(3 * h * w).fill(0.5);
      const running = engine.run(input, new Float32Array(input.length), h, w).catch(() => undefined);
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
      const input = new Float32Array(3 * h * w).fill(0.5);
      const running = engine.run(input, new Float32Array(input.length), h, w).catch((error: Error) => error);
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
      expect((await engine.run(frame(), new Float32Array(3 * H * W), H, W)).output.length).toBe(3 * H * W);
    } finally {
      await engine.close();
    }
  });
});
