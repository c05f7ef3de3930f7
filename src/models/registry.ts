import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StylecastError } from '../core/errors.js';
import { parseManifest, type ModelManifest } from './manifest.js';

export interface ModelEntry {
  readonly id: string;
  readonly title: string;
  readonly onnxPath: string;
  readonly manifestPath: string | null;
  readonly manifest: ModelManifest | null;
}

export interface ModelProblem {
  readonly file: string;
  readonly message: string;
}

/** Whether a model paints any painting (contract 2: a style encoder beside the stylizer). */
export function isArbitrary(entry: ModelEntry): boolean {
  return entry.manifest?.arbitrary !== undefined;
}

/** The models/ folder shipped with the package (dist/models/ -> ../../models). */
export const BUNDLED_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
export const DEFAULT_STYLE = 'candy';

export type Preset = 'fast' | 'quality';
export const DEFAULT_FAST_MODEL_SCALE = 0.5;

export function parsePreset(text: string): Preset | 'auto' {
  if (text === 'fast' || text === 'quality' || text === 'auto') return text;
  throw new StylecastError('USAGE', `unknown preset "${text}": use auto, fast or quality`);
}

/** What actually runs for a style and a preset: the model file and its model scale. */
export interface ModelChoice {
  readonly entry: ModelEntry;
  readonly preset: Preset;
  readonly modelScale: number;
  /** `runtime.nativeShortSide` of the model that runs (or of its full model): the short side its strokes were made for. */
  readonly nativeShortSide: number | null;
  /** Set when the preset asked for a variant that this style does not have. */
  readonly note: string | null;
}

/** Folders searched for models: STYLECAST_MODELS (path-delimited) first, then the bundled one. */
export function defaultModelDirs(): string[] {
  const extra = (process.env.STYLECAST_MODELS ?? '').split(':').filter(Boolean);
  return [...extra, BUNDLED_MODELS_DIR];
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Reads models/<id>.json + models/<id>.onnx pairs. A broken manifest or a
 * missing .onnx is reported as a problem naming the file, never a crash;
 * the ONNX graph itself is checked when a session opens (or by `models --check`).
 */
export class ModelRegistry {
  private constructor(
    private readonly entries: ReadonlyMap<string, ModelEntry>,
    readonly problems: readonly ModelProblem[],
  ) {}

  static async load(dirs: readonly string[] = defaultModelDirs()): Promise<ModelRegistry> {
    const entries = new Map<string, ModelEntry>();
    const problems: ModelProblem[] = [];
    for (const dir of dirs) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
        const manifestPath = join(dir, name);
        const id = basename(name, '.json');
        try {
          const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath, id);
          const onnxPath = join(dir, manifest.file);
          if (!(await isFile(onnxPath))) throw new StylecastError('MODEL_INVALID', `${manifestPath}: its model file ${manifest.file} is missing`);
          if (manifest.arbitrary && !(await isFile(join(dir, manifest.arbitrary.encoder)))) {
            throw new StylecastError('MODEL_INVALID', `${manifestPath}: its style encoder ${manifest.arbitrary.encoder} is missing`);
          }
          if (!entries.has(id)) entries.set(id, { id, title: manifest.title, onnxPath, manifestPath, manifest });
        } catch (error) {
          problems.push({ file: manifestPath, message: error instanceof Error ? error.message : String(error) });
        }
      }
    }
    return new ModelRegistry(entries, problems);
  }

  /** Styles shown to users (baselines and fixtures are unlisted), one-style models and any-painting models alike. */
  listed(): ModelEntry[] {
    return [...this.entries.values()].filter((e) => e.manifest?.listed !== false);
  }

  /** Listed models that paint any painting (contract 2), the one whose manifest measures the strongest style first. */
  arbitrary(): ModelEntry[] {
    const gap = (e: ModelEntry) => (typeof e.manifest?.metrics?.style_gap_closed === 'number' ? e.manifest.metrics.style_gap_closed : -1);
    return this.listed().filter(isArbitrary).sort((a, b) => gap(b) - gap(a));
  }

  /**
   * The model for `--style-image`: the one named by `style` (which must be an
   * any-painting model), else the first installed one.
   */
  async resolveArbitrary(style: string | undefined): Promise<ModelEntry> {
    if (style !== undefined) {
      const entry = await this.resolve(style);
      if (!isArbitrary(entry)) {
        const known = this.arbitrary().map((e) => e.id);
        throw new StylecastError('USAGE', `style ${entry.id} has its painting built in; a painting of your own needs an any-painting model${known.length ? ` (${known.join(', ')})` : ''}`);
      }
      return entry;
    }
    const entry = this.arbitrary()[0];
    if (!entry) {
      throw new StylecastError('MODEL_NOT_FOUND', 'no any-painting model is installed: models/ ships magenta-steady (restore it with `git checkout -- models/`), or build one as docs/arbitrary-style.md says');
    }
    return entry;
  }

  all(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): ModelEntry | undefined {
    return this.entries.get(id);
  }

  defaultStyle(): ModelEntry | undefined {
    return this.entries.get(process.env.STYLECAST_STYLE ?? DEFAULT_STYLE) ?? this.listed().find((e) => !isArbitrary(e));
  }

  /**
   * The fp16 variant of the model in this file, for a GPU (StyleEngine's gpuVariant), or
   * null: a model without one, or a file the registry does not know.
   */
  gpuVariantPath(onnxPath: string): string | null {
    const entry = [...this.entries.values()].find((e) => resolve(e.onnxPath) === resolve(onnxPath));
    if (!entry) return null;
    return this.variantsOf(entry.id).find((e) => e.manifest?.variant === 'fp16')?.onnxPath ?? null;
  }

  /** Variants of a style (fast, fp16), by their manifests' `variantOf`. */
  variantsOf(id: string): ModelEntry[] {
    return [...this.entries.values()].filter((e) => e.manifest?.variantOf === id);
  }

  /**
   * The model for a preset. fast: the style's fast variant at its internal
   * scale (or, lacking one, the full model at its manifest's runtime.fastModelScale,
   * default half scale); quality: the full model at full scale.
   */
  choose(entry: ModelEntry, preset: Preset): ModelChoice {
    const choice = this.chooseFile(entry, preset);
    const native = choice.entry.manifest?.runtime?.nativeShortSide ?? entry.manifest?.runtime?.nativeShortSide ?? null;
    return { ...choice, nativeShortSide: native };
  }

  private chooseFile(entry: ModelEntry, preset: Preset): Omit<ModelChoice, 'nativeShortSide'> {
    if (preset === 'quality' || entry.manifest?.variant === 'fast') {
      return { entry, preset, modelScale: entry.manifest?.runtime?.modelScale ?? 1, note: null };
    }
    const fast = this.variantsOf(entry.id).find((e) => e.manifest?.variant === 'fast');
    if (fast) return { entry: fast, preset, modelScale: fast.manifest?.runtime?.modelScale ?? DEFAULT_FAST_MODEL_SCALE, note: null };
    const scale = entry.manifest?.runtime?.fastModelScale ?? DEFAULT_FAST_MODEL_SCALE;
    const size = scale === 0.5 ? 'half size' : scale === 1 ? 'its full size (its manifest asks for it: runtime.fastModelScale 1)' : `${scale}x size`;
    return { entry, preset, modelScale: scale, note: `style ${entry.id} has no fast variant: the full model runs at ${size}` };
  }

  /** A style given as an id from the registry, or as a path to an .onnx file. */
  async resolve(style: string | undefined): Promise<ModelEntry> {
    if (style === undefined) {
      const entry = this.defaultStyle();
      if (!entry) throw new StylecastError('MODEL_NOT_FOUND', 'no models installed: models/ holds no <id>.onnx + <id>.json pair');
      return entry;
    }
    const byId = this.entries.get(style);
    if (byId) return byId;
    if (extname(style).toLowerCase() === '.onnx' || style.includes('/')) {
      const onnxPath = resolve(style);
      if (!(await isFile(onnxPath))) throw new StylecastError('MODEL_NOT_FOUND', `model file not found: ${style}`);
      const manifestPath = onnxPath.replace(/\.onnx$/i, '.json');
      const id = basename(onnxPath, extname(onnxPath));
      let manifest: ModelManifest | null = null;
      if (manifestPath !== onnxPath && (await isFile(manifestPath))) {
        manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath, id);
      }
      return { id, title: manifest?.title ?? id, onnxPath, manifestPath: manifest ? manifestPath : null, manifest };
    }
    const known = this.listed().map((e) => e.id);
    throw new StylecastError(
      'MODEL_NOT_FOUND',
      `unknown style "${style}"${known.length ? `: installed styles are ${known.join(', ')}` : ': no styles installed'} (or give a path to an .onnx file)`,
    );
  }
}
