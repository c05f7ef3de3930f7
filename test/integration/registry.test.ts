import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGallery } from '../../dist/models/gallery.js';
import { BUNDLED_MODELS_DIR, ModelRegistry } from '../../dist/models/registry.js';
import { FIXTURES, tempDir } from '../support/helpers.js';

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
    // A network that halves the frame itself (a sub-pixel head) says so in the runtime section: not halved again.
    const dir = await tempDir();
    try {
      await copyFile(join(FIXTURES, 'tiny.onnx'), join(dir.path, 'halving.onnx'));
      await writeFile(join(dir.path, 'halving.json'), JSON.stringify({ id: 'halving', title: 'Halving', contract: 1, file: 'halving.onnx', network: { upscale: 2 }, runtime: { fastModelScale: 1 } }));
      const own = await Registry.load([dir.path]);
      const halving = own.choose(own.get('halving')!, 'fast');
      expect(halving).toMatchObject({ entry: { id: 'halving' }, modelScale: 1 });
      expect(halving.note).toMatch(/the full model runs at its full size \(its manifest asks for it: runtime.fastModelScale 1\)/);
    } finally {
      await dir.cleanup();
    }
    expect(resolvePreset('auto', 'cpu')).toBe('fast');
    expect(resolvePreset('auto', 'cuda')).toBe('quality');
    expect(resolvePreset('quality', 'cpu')).toBe('quality');
  });
});

describe('fp16 variants for a GPU', () => {
  it('names each shipped full model\'s fp16 file, and none for a fast variant or an unknown file', async () => {
    const registry = await ModelRegistry.load([BUNDLED_MODELS_DIR]);
    const candy = registry.get('candy')!;
    expect(registry.gpuVariantPath(candy.onnxPath)).toBe(registry.get('candy-fp16')!.onnxPath);
    expect(registry.gpuVariantPath(registry.get('candy-fast')!.onnxPath)).toBeNull();
    expect(registry.gpuVariantPath(join(FIXTURES, 'tiny.onnx'))).toBeNull();
  });
});

describe('the shipped any-painting model and its gallery', () => {
  it('a fresh clone has an any-painting model, with its credits and their licence texts beside it', async () => {
    const registry = await ModelRegistry.load([BUNDLED_MODELS_DIR]);
    const painter = await registry.resolveArbitrary(undefined);
    expect(painter.manifest?.arbitrary).toBeDefined();
    const credits = painter.manifest?.credits as Array<{ licence: string; licenceFile: string }> | undefined;
    expect(credits?.length).toBeGreaterThan(0);
    for (const credit of credits!) {
      expect(['Apache-2.0', 'MIT', 'BSD-2-Clause', 'BSD-3-Clause']).toContain(credit.licence);
      expect((await readFile(join(BUNDLED_MODELS_DIR, credit.licenceFile), 'utf8')).length).toBeGreaterThan(500);
    }
    if (credits!.some((c) => c.licence === 'Apache-2.0')) expect(await readFile(join(BUNDLED_MODELS_DIR, 'NOTICE'), 'utf8')).toMatch(/Apache License/);
  });

  it('loads the shipped gallery (every file present) and refuses entries that could name another path', async () => {
    const shipped = await loadGallery();
    expect(shipped.length).toBeGreaterThanOrEqual(4);
    for (const painting of shipped) expect((await stat(painting.path)).size).toBeGreaterThan(1000);
    expect(await loadGallery(join(BUNDLED_MODELS_DIR, 'no-such-folder'))).toEqual([]);
    const dir = await tempDir();
    try {
      const write = (paintings: unknown) => writeFile(join(dir.path, 'gallery.json'), JSON.stringify({ paintings }));
      const entry = { id: 'a', file: 'a.jpg', title: 'A', artist: 'B', year: '1900', licence: 'public domain' };
      await write([{ ...entry, file: '../../etc/passwd' }]);
      await expect(loadGallery(dir.path)).rejects.toThrow(/must be a plain \.jpg name/);
      await write([{ ...entry, id: 'A/B' }]);
      await expect(loadGallery(dir.path)).rejects.toThrow(/must be unique, lower case/);
      await write([entry, entry]);
      await expect(loadGallery(dir.path)).rejects.toThrow(/must be unique/);
      await write([{ ...entry, title: '' }]);
      await expect(loadGallery(dir.path)).rejects.toThrow(/"title" must be a non-empty string/);
    } finally {
      await dir.cleanup();
    }
  });
});
