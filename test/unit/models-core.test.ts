import { gpuVulkanDriver } from '../../dist/models/ort/install.js';
import { describe, expect, it } from 'vitest';
import { contractProblems, encoderPathFor, encoderProblems, styleLengthOf } from '../../dist/models/contract.js';
import { parseManifest } from '../../dist/models/manifest.js';
import { checkBatch, fileForProvider, lanesNote, lanesToOpen, planLanes } from '../../dist/models/engine.js';
import { PROVIDER_ORDER, parseDevice, selectProvider } from '../../dist/models/providers.js';

const good = { name: 'input', type: 'float32', shape: ['batch', 3, 'height', 'width'] };
const out = { name: 'output', type: 'float32', shape: ['batch', 3, 'height', 'width'] };

describe('model contract', () => {
  it('accepts a conforming signature', () => {
    expect(contractProblems({ inputs: [good], outputs: [out] })).toEqual([]);
  });

  it('names each problem', () => {
    const problems = contractProblems({
      inputs: [{ name: 'image', type: 'float16', shape: [1, 1, 224, 'w'] }],
      outputs: [out, { ...out, name: 'extra' }],
    });
    expect(problems.join('\n')).toMatch(/input is named "image", expected "input"/);
    expect(problems.join('\n')).toMatch(/float16, expected float32/);
    expect(problems.join('\n')).toMatch(/1 channels, expected 3/);
    expect(problems.join('\n')).toMatch(/fixed height \(224\)/);
    expect(problems.join('\n')).toMatch(/expected 1 output named "output", found 2/);
  });
});

describe('model contract, form 2 (any painting)', () => {
  const style = { name: 'style', type: 'float32', shape: [1, 256] };
  const strength = { name: 'strength', type: 'float32', shape: [1] };
  const painting = { name: 'painting', type: 'float32', shape: [1, 3, 'height', 'width'] };

  it('accepts a stylizer with style and strength in any order, and its encoder', () => {
    const signature = { inputs: [strength, good, style], outputs: [out] };
    expect(contractProblems(signature)).toEqual([]);
    expect(styleLengthOf(signature)).toBe(256);
    expect(encoderProblems({ inputs: [painting], outputs: [style] }, 256)).toEqual([]);
    expect(encoderPathFor('/m/adain.onnx')).toBe('/m/adain.style.onnx');
  });

  it('names what is wrong', () => {
    const text = (problems: string[]) => problems.join('\n');
    expect(text(contractProblems({ inputs: [good, style], outputs: [out] }))).toMatch(/expected 3 inputs named "input", "style", "strength", found 2/);
    expect(text(contractProblems({ inputs: [good, { ...style, shape: [1, 'n'] }, strength], outputs: [out] }))).toMatch(/"style" needs a fixed length/);
    expect(text(contractProblems({ inputs: [good, style, { ...strength, shape: [1, 1] }], outputs: [out] }))).toMatch(/"strength" has rank 2, expected 1/);
    expect(text(encoderProblems({ inputs: [good], outputs: [style] }, 256))).toMatch(/input is named "input", expected "painting"/);
    expect(text(encoderProblems({ inputs: [painting], outputs: [{ ...style, shape: [1, 6] }] }, 256))).toMatch(/style vectors of 6 numbers, its stylizer takes 256/);
  });
});

describe('manifest', () => {
  const base = { id: 'candy', title: 'Candy', contract: 1, file: 'candy.onnx' };
  it('parses a valid manifest with defaults', () => {
    const m = parseManifest(JSON.stringify(base), 'models/candy.json', 'candy');
    expect(m.listed).toBe(true);
    expect(m.title).toBe('Candy');
  });

  it('form 2 needs its encoder, named for the model', () => {
    const arbitrary = { encoder: 'candy.style.onnx', styleLength: 256, paintingSize: 512 };
    expect(parseManifest(JSON.stringify({ ...base, contract: 2, arbitrary }), 'models/candy.json', 'candy').arbitrary).toEqual(arbitrary);
    expect(() => parseManifest(JSON.stringify({ ...base, contract: 2 }), 'models/candy.json', 'candy')).toThrow(/"arbitrary" is required/);
    expect(() => parseManifest(JSON.stringify({ ...base, contract: 2, arbitrary: { ...arbitrary, encoder: 'x.style.onnx' } }), 'models/candy.json', 'candy')).toThrow(/"arbitrary.encoder" must be "candy.style.onnx"/);
  });

  it('names the file and the field that is wrong', () => {
    const bad = (value: unknown, id = 'candy') => () => parseManifest(JSON.stringify(value), 'models/candy.json', id);
    expect(() => parseManifest('{', 'models/candy.json', 'candy')).toThrow(/models\/candy\.json: not valid JSON/);
    expect(bad({ ...base, id: 'other' })).toThrow(/"id" is "other" but the file is named for "candy"/);
    expect(bad({ ...base, file: 'x.onnx' })).toThrow(/"file" must be "candy.onnx"/);
    expect(bad({ ...base, contract: 3 })).toThrow(/"contract" must be one of 1, 2/);
    expect(bad({ ...base, title: '' })).toThrow(/"title" must NOT have fewer than 1 characters/);
    expect(bad({ id: 'candy', contract: 1, file: 'candy.onnx' })).toThrow(/"title" is required/);
    expect(bad([1, 2])).toThrow(/must be a JSON object/);
    expect(bad({ ...base, variant: 'turbo' })).toThrow(/"variant" must be one of "quality", "fast", "fp16"/);
    expect(bad({ ...base, variantOf: 'Not An Id' })).toThrow(/"variantOf" must match pattern/);
    expect(bad({ ...base, runtime: { modelScale: 2 } })).toThrow(/"runtime.modelScale" must be <= 1/);
    expect(bad({ ...base, sha256: 'abc' })).toThrow(/"sha256" must match pattern/);
    expect(bad({ ...base, style: { painting: 'x' } })).toThrow(/"artist" is required/);
  });

  it('keeps fields the schema does not name (the trainer adds figures freely)', () => {
    const m = parseManifest(JSON.stringify({ ...base, pruned: { ratio: 0.5 }, newFigure: 42 }), 'models/candy.json', 'candy');
    expect(m).toMatchObject({ pruned: { ratio: 0.5 }, newFigure: 42 });
  });

  it('reads variant fields', () => {
    const m = parseManifest(JSON.stringify({ ...base, variant: 'fast', variantOf: 'candy-hd', runtime: { modelScale: 0.5 }, listed: false }), 'x.json', 'candy');
    expect(m).toMatchObject({ variant: 'fast', variantOf: 'candy-hd', runtime: { modelScale: 0.5 }, listed: false });
  });
});

describe('execution providers', () => {
  it('orders providers per device', () => {
    expect(PROVIDER_ORDER.auto).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(PROVIDER_ORDER.webgpu).toEqual(['webgpu']);
    expect(parseDevice('cpu')).toBe('cpu');
    expect(parseDevice('webgpu')).toBe('webgpu');
    expect(() => parseDevice('gpu')).toThrow(/unknown device "gpu": use auto, cuda, webgpu, cpu/);
  });

  // A fake loader stands in for a CUDA device, which this machine does not have.
  it('auto takes CUDA when it loads', async () => {
    const picked = await selectProvider('auto', async (p) => `session-on-${p}`);
    expect(picked).toMatchObject({ provider: 'cuda', value: 'session-on-cuda', skipped: [] });
  });

  it('auto falls back to CPU and says why', async () => {
    const picked = await selectProvider('auto', async (p) => {
      if (p === 'cuda') throw new Error('libcudart.so.13: cannot open shared object file');
      if (p === 'webgpu') throw new Error('no GPU Vulkan driver is installed');
      return 'cpu-session';
    });
    expect(picked.provider).toBe('cpu');
    expect(picked.skipped).toEqual([
      { provider: 'cuda', reason: 'libcudart.so.13: cannot open shared object file' },
      { provider: 'webgpu', reason: 'no GPU Vulkan driver is installed' },
    ]);
  });

  it('auto takes WebGPU (any vendor\'s GPU) when CUDA is missing; an explicit webgpu never falls back', async () => {
    const picked = await selectProvider('auto', async (p) => {
      if (p === 'cuda') throw new Error('no CUDA');
      return `session-on-${p}`;
    });
    expect(picked).toMatchObject({ provider: 'webgpu', value: 'session-on-webgpu' });
    await expect(selectProvider('webgpu', async () => { throw new Error('No supported adapters'); })).rejects.toThrow(/--device webgpu: no WebGPU adapter could be used \(webgpu: No supported adapters\)/);
  });

  it('a GPU Vulkan driver counts for WebGPU; Mesa\'s software one does not', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/icd-`);
    try {
      await writeFile(`${dir}/lvp_icd.x86_64.json`, '{}');
      expect(gpuVulkanDriver([dir, `${dir}/missing`])).toBe(false);
      await writeFile(`${dir}/nvidia_icd.json`, '{}');
      expect(gpuVulkanDriver([dir])).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an explicit cuda that cannot load is an error, not a fallback', async () => {
    let triedCpu = false;
    await expect(
      selectProvider('cuda', async (p) => {
        if (p === 'cpu') triedCpu = true;
        throw new Error('no CUDA');
      }),
    ).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE', message: expect.stringMatching(/--device cuda.*setup:cuda/) });
    expect(triedCpu).toBe(false);
  });
});

describe('lanes on a GPU and batches (lanesToOpen, checkBatch)', () => {
  it('the CPU opens the plan\'s lanes; a GPU one unless more were asked for', () => {
    const plan = planLanes({ lanes: 0, threads: 0, cores: 16 });
    expect(lanesToOpen('cpu', 0, plan)).toBe(2);
    expect(lanesToOpen('cuda', 0, plan)).toBe(1);
    expect(lanesToOpen('webgpu', 1, planLanes({ lanes: 1, threads: 0, cores: 16 }))).toBe(1);
    expect(lanesToOpen('cuda', 3, planLanes({ lanes: 3, threads: 0, cores: 16 }))).toBe(3);
  });

  it('WebGPU opens one lane whatever is asked, and says why', () => {
    expect(lanesToOpen('webgpu', 4, planLanes({ lanes: 4, threads: 0, cores: 16 }))).toBe(1);
    expect(lanesNote('webgpu', 4, 1)).toMatch(/one lane: WebGPU/);
    expect(lanesNote('webgpu', 1, 1)).toBeNull();
    expect(lanesNote('cuda', 3, 3)).toBeNull();
  });

  it('a batch is a whole number from 1 to 64', () => {
    expect(checkBatch(1)).toBe(1);
    expect(checkBatch(64)).toBe(64);
    for (const bad of [0, -1, 1.5, 65, Number.NaN]) expect(() => checkBatch(bad)).toThrow(/batch must be a whole number from 1 to 64/);
  });
});

describe('inference lanes (planLanes)', () => {
  it('auto: two one-thread lanes on two cores, the budget split on more, one lane on one core', () => {
    expect(planLanes({ lanes: 0, threads: 0, cores: 2 })).toEqual({ lanes: 2, threadsPerLane: 1 });
    expect(planLanes({ lanes: 0, threads: 0, cores: 16 })).toEqual({ lanes: 2, threadsPerLane: 8 });
    expect(planLanes({ lanes: 0, threads: 0, cores: 1 })).toEqual({ lanes: 1, threadsPerLane: 1 });
  });
  it('--threads is the whole budget; --lanes is obeyed; one lane with no thread count keeps ONNX Runtime\'s default', () => {
    expect(planLanes({ lanes: 0, threads: 1, cores: 8 })).toEqual({ lanes: 1, threadsPerLane: 1 });
    expect(planLanes({ lanes: 0, threads: 6, cores: 2 })).toEqual({ lanes: 2, threadsPerLane: 3 });
    expect(planLanes({ lanes: 3, threads: 2, cores: 2 })).toEqual({ lanes: 3, threadsPerLane: 1 });
    expect(planLanes({ lanes: 1, threads: 0, cores: 4 })).toEqual({ lanes: 1, threadsPerLane: 0 });
    expect(planLanes({ lanes: 1, threads: 3, cores: 4 })).toEqual({ lanes: 1, threadsPerLane: 3 });
  });
});

describe('which file runs once the provider is known', () => {
  const variants: Record<string, string> = { '/m/candy.onnx': '/m/candy-fp16.onnx' };
  const gpuVariant = (path: string) => variants[path] ?? null;

  it('a GPU runs the fp16 variant when there is one; the CPU, and --fp32, the model itself', () => {
    expect(fileForProvider('cuda', '/m/candy.onnx', gpuVariant)).toBe('/m/candy-fp16.onnx');
    expect(fileForProvider('webgpu', '/m/candy.onnx', gpuVariant)).toBe('/m/candy-fp16.onnx');
    expect(fileForProvider('cpu', '/m/candy.onnx', gpuVariant)).toBe('/m/candy.onnx');
    expect(fileForProvider('cuda', '/m/candy-fast.onnx', gpuVariant)).toBe('/m/candy-fast.onnx');
    expect(fileForProvider('cuda', '/m/candy.onnx', undefined)).toBe('/m/candy.onnx');
  });
});
