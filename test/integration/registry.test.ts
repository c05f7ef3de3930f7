import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../dist/models/registry.js';
import { FIXTURES, tempDir } from '../helpers.js';

describe('ModelRegistry', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir();
    const models = join(dir.path, 'models');
    await mkdir(models);
    await copyFile(join(FIXTURES, 'tiny.onnx'), join(models, 'tiny.onnx'));
    await copyFile(join(FIXTURES, 'tiny.json'), join(models, 'tiny.json'));
    await writeFile(join(models, 'hidden.json'), JSON.stringify({ id: 'hidden', title: 'Hidden', contract: 1, file: 'hidden.onnx', listed: false }));
    await copyFile(join(FIXTURES, 'tiny.onnx'), join(models, 'hidden.onnx'));
    await writeFile(join(models, 'broken.json'), '{"id": "broken",');
    await writeFile(join(models, 'orphan.json'), JSON.stringify({ id: 'orphan', title: 'Orphan', contract: 1, file: 'orphan.onnx' }));
  });
  afterAll(() => dir.cleanup());

  it('lists valid models and reports broken ones by file, without failing', async () => {
    const registry = await ModelRegistry.load([join(dir.path, 'models')]);
    expect(registry.listed().map((e) => e.id)).toEqual(['tiny']);
    expect(registry.all().map((e) => e.id).sort()).toEqual(['hidden', 'tiny']);
    const problems = registry.problems.map((p) => p.message).join('\n');
    expect(problems).toMatch(/broken\.json: not valid JSON/);
    expect(problems).toMatch(/orphan\.json: its model file orphan\.onnx is missing/);
  });

  it('resolves ids and paths, and explains unknown styles', async () => {
    const registry = await ModelRegistry.load([join(dir.path, 'models')]);
    expect((await registry.resolve('tiny')).onnxPath).toMatch(/tiny\.onnx$/);
    expect((await registry.resolve(undefined)).id).toBe('tiny');
    const byPath = await registry.resolve(join(FIXTURES, 'tiny-b.onnx'));
    expect(byPath.manifest?.title).toMatch(/tiny-b/);
    await expect(registry.resolve('van-gogh')).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: 'unknown style "van-gogh": installed styles are tiny (or give a path to an .onnx file)',
    });
    await expect(registry.resolve('./nowhere/x.onnx')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});

describe('presets and variants', () => {
  it('fast picks the fast variant at its scale; quality the full model; a style without one runs at half size', async () => {
    const { ModelRegistry: Registry } = await import('../../dist/models/registry.js');
    const { resolvePreset } = await import('../../dist/models/presets.js');
    const registry = await Registry.load([FIXTURES]);
    const tiny = registry.get('tiny')!;
    expect(registry.variantsOf('tiny').map((e) => e.id)).toEqual(['tiny-fast']);
    expect(registry.choose(tiny, 'fast')).toMatchObject({ entry: { id: 'tiny-fast' }, modelScale: 0.5, note: null });
    expect(registry.choose(tiny, 'quality')).toMatchObject({ entry: { id: 'tiny' }, modelScale: 1 });
    const b = registry.choose(registry.get('tiny-b')!, 'fast');
    expect(b).toMatchObject({ entry: { id: 'tiny-b' }, modelScale: 0.5 });
    expect(b.note).toMatch(/no fast variant/);
    expect(registry.listed().map((e) => e.id)).not.toContain('tiny-fast');
    // An any-painting model without a fast variant runs the fast preset at its manifest's fastModelScale.
    const colour = registry.get('tiny-colour')!;
    expect(registry.choose(colour, 'fast')).toMatchObject({ entry: { id: 'tiny-colour' }, modelScale: 0.375 });
    expect(registry.choose(colour, 'quality')).toMatchObject({ modelScale: 1 });
    expect(registry.arbitrary().map((e) => e.id)).toEqual(['tiny-colour']);
    expect((await registry.resolveArbitrary(undefined)).id).toBe('tiny-colour');
    await expect(registry.resolveArbitrary('tiny')).rejects.toThrow(/style tiny has its painting built in/);
    expect(registry.defaultStyle()?.id).not.toBe('tiny-colour');
    // A network that halves the frame itself (sub-pixel head, network.upscale 2) is not halved again.
    const dir = await tempDir();
    try {
      await copyFile(join(FIXTURES, 'tiny.onnx'), join(dir.path, 'halving.onnx'));
      await writeFile(join(dir.path, 'halving.json'), JSON.stringify({ id: 'halving', title: 'Halving', contract: 1, file: 'halving.onnx', network: { upscale: 2 } }));
      const own = await Registry.load([dir.path]);
      const halving = own.choose(own.get('halving')!, 'fast');
      expect(halving).toMatchObject({ entry: { id: 'halving' }, modelScale: 1 });
      expect(halving.note).toMatch(/already runs at 1\/2 size inside its network/);
    } finally {
      await dir.cleanup();
    }
    expect(resolvePreset('auto', 'cpu')).toBe('fast');
    expect(resolvePreset('auto', 'cuda')).toBe('quality');
    expect(resolvePreset('quality', 'cpu')).toBe('quality');
  });
});
