import { Command } from 'commander';
import { StylecastError } from '../../core/errors.js';
import { ModelRegistry, defaultModelDirs, parsePreset } from '../../models/registry.js';
import { resolvePreset } from '../../models/presets.js';
import { parseDevice } from '../../models/providers.js';
import { DEFAULT_MAX_INPUT_PIXELS, parseSizeRequest } from '../../pipeline/sizing.js';
import { transcodeFile } from '../../pipeline/transcode.js';
import { ProgressReporter } from '../progress.js';
import type { CliContext } from '../context.js';

interface StylizeFlags {
  output: string;
  style?: string;
  size?: string;
  height?: string;
  device: string;
  threads: string;
  stabilize?: boolean;
  modelScale?: string;
  preset: string;
  yes?: boolean;
  quiet?: boolean;
  modelsDir?: string[];
  maxInputPixels: string;
}

function parseMaxPixels(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 256) throw new StylecastError('USAGE', `--max-input-pixels must be a whole number >= 256, got "${text}"`);
  return Number(text);
}

function parseThreads(text: string): number {
  if (!/^\d+$/.test(text)) throw new StylecastError('USAGE', `--threads must be a whole number, got "${text}"`);
  return Number(text);
}

export function stylizeCommand(context: CliContext): Command {
  return new Command('stylize')
    .description('stylize a video file (any input ffmpeg reads) into a new file')
    .argument('<input>', 'input video')
    .requiredOption('-o, --output <file>', 'output file: .mp4 / .mov / .mkv (H.264) or .webm (VP9)')
    .option('-s, --style <id|file.onnx>', 'style id from `stylecast models`, or a path to a model')
    .option('--size <WxH>', 'output size, e.g. 640x360')
    .option('--height <N>', 'output height; width follows the aspect ratio')
    .option('--device <auto|cuda|cpu>', 'execution provider: auto = CUDA if it loads, else CPU', 'auto')
    .option('--threads <N>', 'ONNX Runtime threads (0 = one per core)', '0')
    .option('--stabilize', 'blend static regions with the previous output (less flicker)')
    .option('--preset <auto|fast|quality>', 'fast: the pruned variant at half size; quality: the full model (auto: fast on CPU, quality on CUDA)', 'auto')
    .option('--model-scale <f>', 'run the model at this fraction of the output size, then scale up (overrides the preset)')
    .option('--max-input-pixels <N>', 'refuse sources larger than this (pixels per frame)', String(DEFAULT_MAX_INPUT_PIXELS))
    .option('-y, --yes', 'overwrite the output if it exists')
    .option('-q, --quiet', 'no progress, only the summary')
    .option('--models-dir <dir...>', 'extra folders with <id>.onnx + <id>.json models')
    .addHelpText('after', '\nExample:\n  stylecast stylize samples/sample.mp4 -o out.mp4 --style candy --height 360\n')
    .action(async (input: string, flags: StylizeFlags) => {
      const device = parseDevice(flags.device);
      const size = parseSizeRequest(flags.size, flags.height);
      const threads = parseThreads(flags.threads);
      const preset = resolvePreset(parsePreset(flags.preset), device);
      const registry = await ModelRegistry.load([...(flags.modelsDir ?? []), ...defaultModelDirs()]);
      const base = await registry.resolve(flags.style);
      const choice = registry.choose(base, preset);
      const style = choice.entry;
      const modelScale = flags.modelScale !== undefined ? Number(flags.modelScale) : choice.modelScale;
      if (!(modelScale > 0 && modelScale <= 1)) throw new StylecastError('USAGE', `--model-scale must be in (0, 1], got "${flags.modelScale}"`);
      if (choice.note) context.log(`note: ${choice.note}`);
      const progress = new ProgressReporter(process.stderr, !flags.quiet);
      try {
        const summary = await transcodeFile({
          input,
          output: flags.output,
          modelPath: style.onnxPath,
          size,
          device,
          threads,
          stabilize: flags.stabilize ?? false,
          maxInputPixels: parseMaxPixels(flags.maxInputPixels),
          modelScale: modelScale,
          overwrite: flags.yes ?? false,
          signal: context.signal,
          onStart: (start) => {
            const skipped = start.skippedProviders.length && device === 'auto' ? ` (cuda unavailable: ${start.skippedProviders[0]!.reason})` : '';
            context.log(
              `stylizing ${input} -> ${flags.output}: style ${style.id} (${preset}), ${start.size.width}x${start.size.height}` +
                `${start.modelSize.width !== start.size.width ? ` (model at ${start.modelSize.width}x${start.modelSize.height})` : ''}, ` +
                `${(start.source.fpsNum / start.source.fpsDen).toFixed(2)} fps, device ${start.provider}${device === 'auto' ? ' (auto)' : ''}${skipped}`,
            );
          },
          onProgress: (p) => progress.update(p),
        });
        progress.end();
        const flicker = summary.meanFlicker === null ? 'n/a' : summary.meanFlicker.toFixed(2);
        context.log(
          `done: ${summary.output} - ${summary.frames} frames in ${summary.seconds.toFixed(1)} s (${summary.fps.toFixed(2)} fps), ` +
            `mean flicker ${flicker}, device ${summary.provider}, ${summary.size.width}x${summary.size.height}, audio ${summary.audio}` +
            `${flags.stabilize ? ', stabilized' : ''}`,
        );
      } finally {
        progress.end();
      }
    });
}
