import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { StylecastError, describeError } from '../../core/errors.js';
import { ModelRegistry, defaultModelDirs, parsePreset } from '../../models/registry.js';
import { resolvePreset } from '../../models/presets.js';
import { parseDevice } from '../../models/providers.js';
import { DEFAULT_MAX_INPUT_PIXELS, parseSizeRequest, parseStrokeScale } from '../../pipeline/sizing.js';
import { parseFraction } from '../../pipeline/painting.js';
import { openEngineFor, paintingsFor, transcodeFile, type PaintingsRequest } from '../../pipeline/transcode.js';
import { MAX_LANES, parseThreads, parseWholeNumber } from '../options.js';
import { MAX_BATCH, lanesNote } from '../../models/engine.js';
import { parseVideoCodecPolicy } from '../../media/ffmpeg/gpu-codecs.js';
import { ProgressReporter } from '../progress.js';
import type { CliContext } from '../context.js';

interface StylizeFlags {
  output: string;
  style?: string;
  size?: string;
  height?: string;
  device: string;
  fp32?: boolean;
  threads: string;
  lanes: string;
  batch: string;
  videoCodecs: string;
  keepColour: string;
  stabilize?: boolean;
  modelScale?: string;
  strokeScale?: string;
  preset: string;
  yes?: boolean;
  quiet?: boolean;
  modelsDir?: string[];
  maxInputPixels: string;
  styleImage: string[];
  blend?: string;
  strength: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

type CommonOptions = Omit<Parameters<typeof transcodeFile>[0], 'input' | 'output'>;

/**
 * A folder of still images in, a folder out (same names). Outputs that exist
 * are refused up front unless -y; a file that fails is reported and the rest
 * go on; the exit status says whether all succeeded.
 */
async function stylizeFolder(context: CliContext, inputDir: string, outputDir: string, options: CommonOptions, styleName: string): Promise<void> {
  const names = (await readdir(inputDir)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new StylecastError('INPUT_INVALID', `no images (${[...IMAGE_EXTENSIONS].join(', ')}) in ${inputDir}`);
  if (await stat(outputDir).then((s) => !s.isDirectory(), () => false)) {
    throw new StylecastError('USAGE', `the input is a folder, so -o must be a folder too: ${outputDir} is a file`);
  }
  if (resolve(inputDir) === resolve(outputDir)) throw new StylecastError('USAGE', 'the output folder must not be the input folder');
  await mkdir(outputDir, { recursive: true });
  if (!options.overwrite) {
    const existing = (await readdir(outputDir)).filter((n) => names.includes(n));
    if (existing.length) throw new StylecastError('OUTPUT_INVALID', `${existing.length} of the outputs exist in ${outputDir} (e.g. ${existing[0]}): pass -y to overwrite`);
  }
  context.log(`stylizing ${names.length} images from ${inputDir} -> ${outputDir}: style ${styleName}`);
  const started = performance.now();
  const failed: string[] = [];
  // The model loads once for the whole folder (its sessions handle any image size).
  const engine = await openEngineFor(options, true);
  try {
    const conditioning = await paintingsFor(engine, options); // a painting is read and encoded once, not per image
    for (const [i, name] of names.entries()) {
      const t0 = performance.now();
      try {
        const summary = await transcodeFile({ ...options, engine, conditioning, input: join(inputDir, name), output: join(outputDir, name), overwrite: true });
        context.log(`[${i + 1}/${names.length}] ${name}: ${summary.size.width}x${summary.size.height} in ${Math.round(performance.now() - t0)} ms`);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        failed.push(name);
        context.log(`[${i + 1}/${names.length}] ${name}: failed: ${describeError(error)}`);
      }
    }
  } finally {
    await engine.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (failed.length) throw new StylecastError('INPUT_INVALID', `${failed.length} of ${names.length} images failed (${failed.join(', ')})`);
  context.log(`done: ${names.length} images in ${seconds.toFixed(1)} s -> ${outputDir}`);
}

function parseMaxPixels(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 256) throw new StylecastError('USAGE', `--max-input-pixels must be a whole number >= 256, got "${text}"`);
  return Number(text);
}

/** --style-image (once or twice), --blend, --strength -> what the transcoder needs; null without a painting. */
function paintingsRequest(flags: StylizeFlags, paintingSize: number): PaintingsRequest | null {
  const paths = flags.styleImage;
  if (paths.length === 0) {
    if (flags.blend !== undefined) throw new StylecastError('USAGE', '--blend mixes two paintings: give --style-image twice');
    return null;
  }
  if (paths.length > 2) throw new StylecastError('USAGE', `--style-image takes one or two paintings, got ${paths.length}`);
  if (paths.length === 1 && flags.blend !== undefined) throw new StylecastError('USAGE', '--blend mixes two paintings: give --style-image twice');
  return {
    paths,
    blend: flags.blend === undefined ? 0.5 : parseFraction(flags.blend, '--blend'),
    strength: parseFraction(flags.strength, '--strength'),
    shortSide: paintingSize,
  };
}

export function stylizeCommand(context: CliContext): Command {
  return new Command('stylize')
    .description('stylize a video or image (anything ffmpeg reads) into a new file, or a folder of images into a folder')
    .argument('<input>', 'input video or image, or a folder of images')
    .requiredOption('-o, --output <file>', 'output file: .mp4 / .mov / .mkv (H.264), .webm (VP9), .png / .jpg / .webp; a folder when the input is one')
    .option('-s, --style <id|file.onnx>', 'style id from `stylecast models`, or a path to a model')
    .option('--style-image <file>', 'any painting as the style (an any-painting model; give it twice to mix two)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--blend <f>', 'with two paintings: 0 = the first, 1 = the second (default 0.5)')
    .option('--strength <f>', 'with a painting: 0 = the frame as it is, 1 = the painting\'s full statistics', '1')
    .option('--keep-colour <f>', 'keep the frame\'s own colours under the painting\'s strokes: 0 = the painting\'s colours, 1 = the frame\'s', '0')
    .option('--size <WxH>', 'output size, e.g. 640x360')
    .option('--height <N>', 'output height; width follows the aspect ratio')
    .option('--device <auto|cuda|webgpu|cpu>', 'execution provider: auto = CUDA if it loads, else WebGPU (a GPU of any vendor), else the CPU; each choice is logged', 'auto')
    .option('--fp32', 'on a GPU, run the model in fp32 (default: its fp16 variant there, when it has one)')
    .option('--threads <N>', 'ONNX Runtime threads in all (0 = one per core)', '0')
    .option('--lanes <N>', 'frames stylized side by side, each by its own session (0 = auto: two on a multi-core CPU, one on a GPU; 1 = one frame at a time)', '0')
    .option('--batch <N>', `frames the model takes in one run (1-${MAX_BATCH}; more can pay on a GPU, where each run has a fixed cost)`, '1')
    .option('--video-codecs <auto|gpu|cpu>', 'decode and encode on NVIDIA\'s NVDEC/NVENC (gpu) or the CPU; auto: the GPU\'s where they work, when the model runs on a GPU; each choice is logged', 'auto')
    .option('--stabilize', 'blend static regions with the previous output (less flicker)')
    .option('--preset <auto|fast|quality>', 'fast: the pruned variant at half size; quality: the full model (auto: fast on CPU, quality on CUDA)', 'auto')
    .option('--stroke-scale <k>', 'brush strokes k times larger on screen (0.25-4; default 1: as large as the model paints them at its working size, e.g. 512 px short side, whatever the output size)')
    .option('--model-scale <f>', 'run the model at this fraction of the output size, then scale up (overrides the preset and the working size)')
    .option('--max-input-pixels <N>', 'refuse sources larger than this (pixels per frame)', String(DEFAULT_MAX_INPUT_PIXELS))
    .option('-y, --yes', 'overwrite the output if it exists')
    .option('-q, --quiet', 'no progress, only the summary')
    .option('--models-dir <dir...>', 'extra folders with <id>.onnx + <id>.json models')
    .addHelpText('after', '\nExamples:\n  stylecast stylize samples/sample.mp4 -o out.mp4 --style candy --height 360\n  stylecast stylize photo.jpg -o photo-candy.png --style candy\n  stylecast stylize photos/ -o stylized/ --style mosaic\n  stylecast stylize in.mp4 -o out.mp4 --style-image my-painting.jpg --strength 0.8\n  stylecast stylize in.mp4 -o out.mp4 --style-image a.jpg --style-image b.jpg --blend 0.3\n')
    .action(async (input: string, flags: StylizeFlags) => {
      const device = parseDevice(flags.device);
      const size = parseSizeRequest(flags.size, flags.height);
      const threads = parseThreads(flags.threads, context.log);
      const lanes = parseWholeNumber(flags.lanes, '--lanes', MAX_LANES);
      const batch = parseWholeNumber(flags.batch, '--batch', MAX_BATCH);
      const videoCodecs = parseVideoCodecPolicy(flags.videoCodecs);
      const keepColour = parseFraction(flags.keepColour, '--keep-colour');
      if (batch < 1) throw new StylecastError('USAGE', `--batch must be at least 1, got "${flags.batch}"`);
      const preset = resolvePreset(parsePreset(flags.preset), device);
      const registry = await ModelRegistry.load([...(flags.modelsDir ?? []), ...defaultModelDirs()]);
      const base = flags.styleImage.length ? await registry.resolveArbitrary(flags.style) : await registry.resolve(flags.style);
      const paintings = paintingsRequest(flags, base.manifest?.arbitrary?.paintingSize ?? 512);
      if (!paintings && base.manifest?.arbitrary) throw new StylecastError('USAGE', `style ${base.id} paints any painting: give one with --style-image`);
      const choice = registry.choose(base, preset);
      const style = choice.entry;
      const strokeScale = parseStrokeScale(flags.strokeScale);
      if (flags.modelScale !== undefined && flags.strokeScale !== undefined) throw new StylecastError('USAGE', 'give --stroke-scale or --model-scale, not both');
      const modelScale = flags.modelScale !== undefined ? Number(flags.modelScale) : choice.modelScale;
      if (!(modelScale > 0 && modelScale <= 1)) throw new StylecastError('USAGE', `--model-scale must be in (0, 1], got "${flags.modelScale}"`);
      const sizing = flags.modelScale !== undefined ? { modelScale } : { workingSize: { modelScale, nativeShortSide: choice.nativeShortSide, strokeScale } };
      if (choice.note) context.log(`note: ${choice.note}`);
      const common = {
        modelPath: style.onnxPath, size, device, threads, lanes, batch, videoCodecs, keepColour, stabilize: flags.stabilize ?? false,
        maxInputPixels: parseMaxPixels(flags.maxInputPixels), ...sizing, overwrite: flags.yes ?? false, signal: context.signal,
        ...(paintings ? { paintings } : {}),
        ...(flags.fp32 ? {} : { gpuVariant: (modelPath: string) => registry.gpuVariantPath(modelPath) }),
      };
      const styleName = paintings
        ? `${style.id}: ${paintings.paths.map((p) => basename(p)).join(' + ')}${paintings.paths.length > 1 ? ` (blend ${paintings.blend})` : ''}, strength ${paintings.strength}`
        : style.id;
      if (await isDirectory(input)) return stylizeFolder(context, input, flags.output, common, `${styleName} (${preset})`);
      const progress = new ProgressReporter(process.stderr, !flags.quiet);
      try {
        const summary = await transcodeFile({
          input,
          output: flags.output,
          ...common,
          onStart: (start) => {
            const variant = start.runningModelPath !== style.onnxPath ? ` running ${basename(start.runningModelPath)}` : '';
            const laneNote = lanesNote(start.provider, lanes, start.lanes);
            const skipped = start.skippedProviders.length && device === 'auto' ? ` (${start.skippedProviders.map((s) => `${s.provider} unavailable: ${s.reason}`).join('; ')})` : '';
            context.log(
              `stylizing ${input} -> ${flags.output}: style ${styleName} (${preset}), ${start.size.width}x${start.size.height}` +
                `${start.modelSize.width !== start.size.width ? ` (model at ${start.modelSize.width}x${start.modelSize.height})` : ''}, ` +
                `${(start.source.fpsNum / start.source.fpsDen).toFixed(2)} fps, device ${start.provider}${device === 'auto' ? ' (auto)' : ''}${variant}${start.lanes > 1 ? ` (${start.lanes} lanes)` : ''}${start.batch > 1 ? ` (${start.batch} frames a run)` : ''}${laneNote ? ` (${laneNote})` : ''}${skipped}`,
            );
            if (!start.codecs.reasons[0]?.startsWith('an image out')) context.log(`video codecs: ${start.codecs.reasons.join('; ')}`);
          },
          onProgress: (p) => progress.update(p),
        });
        progress.end();
        const flicker = summary.meanFlicker === null ? 'n/a' : summary.meanFlicker.toFixed(2);
        context.log(
          `done: ${summary.output} - ${summary.frames} frames in ${summary.seconds.toFixed(1)} s (${summary.fps.toFixed(2)} fps), ` +
            `mean flicker ${flicker}, device ${summary.provider}, ${summary.size.width}x${summary.size.height}, audio ${summary.audio}` +
            `${flags.stabilize ? ', stabilized' : ''}${summary.modelRuns < summary.frames ? `, ${summary.modelRuns} model runs` : ''}`,
        );
      } finally {
        progress.end();
      }
    });
}
