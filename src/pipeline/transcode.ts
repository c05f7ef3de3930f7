import { access, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { lastValueFrom, tap } from 'rxjs';
import { StylecastError, abortError, throwIfAborted } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import { VideoDecoder } from '../media/ffmpeg/decoder.js';
import { VideoEncoder, removeStalePartials } from '../media/ffmpeg/encoder.js';
import { containerFor } from '../media/ffmpeg/formats.js';
import { chooseVideoCodecs, ffmpegCodecProbe, type CodecProbe, type VideoCodecChoice, type VideoCodecPolicy } from '../media/ffmpeg/gpu-codecs.js';
import { isStillImage, probeMedia, type MediaInfo } from '../media/ffmpeg/probe.js';
import { StyleEngine } from '../models/engine.js';
import type { Device, ExecutionProvider } from '../models/providers.js';
import { CreditGate } from './flow-control.js';
import { checkFramePlan, checkSourceSize, modelSizeFor, resolveSize, workingModelSize, type SizeRequest, type WorkingSize } from './sizing.js';
import { decodeStage, encodeStage, stylizeStages } from './stages.js';
import { FrameStylizer } from './frame-stylizer.js';
import { conditioningFor, paintingStyle } from './painting.js';
import type { Conditioning } from '../models/contract.js';

export interface TranscodeOptions {
  readonly input: string;
  readonly output: string;
  readonly modelPath: string;
  readonly size?: SizeRequest;
  readonly device?: Device;
  /** ONNX Runtime's whole thread budget (0: one per core). */
  readonly threads?: number;
  /** Sessions run side by side (0: auto; see planLanes). */
  readonly lanes?: number;
  /** The most frames one model run takes (default 1; see StyleEngine's batch). */
  readonly batch?: number;
  /** How much of the frame's own colour to keep under the painting's strokes (0-1; default 0). */
  readonly keepColour?: number;
  /** Decode and encode on NVIDIA's NVDEC/NVENC or the CPU (default auto: the GPU's when the model runs on one). */
  readonly videoCodecs?: VideoCodecPolicy;
  /** How codecs are tried (default: real ffmpeg probes). */
  readonly codecProbe?: CodecProbe;
  readonly stabilize?: boolean;
  readonly stabilizeStrength?: number;
  /** The fp16 variant to run on a GPU (StyleEngine's gpuVariant); absent: models run as given. */
  readonly gpuVariant?: (modelPath: string) => string | null;

  /** Sources above this many pixels are refused before decoding (default DEFAULT_MAX_INPUT_PIXELS). */
  readonly maxInputPixels?: number;
  readonly overwrite?: boolean;
  /** Run the model at this fraction of the output size and scale up (1 = full size); `workingSize` replaces it. */
  readonly modelScale?: number;
  /** The model's size from the output's (its scale, its working size, the stroke scale): the runtime's rule. */
  readonly workingSize?: WorkingSize;
  /** For an arbitrary-style model (contract 2): the painting files, their blend, the strength. */
  readonly paintings?: PaintingsRequest;
  /** Stop after this many frames (benchmarks, previews). */
  readonly maxFrames?: number;
  /** Frames allowed between decoder and encoder (memory bound). */
  readonly framesInFlight?: number;
  /**
   * An engine already open on `modelPath` (a folder of images: one load for all). The transcode
   * uses it and leaves it open: its owner closes it. Without one, the transcode opens its own.
   */
  readonly engine?: StyleEngine;
  /** With `engine`: the style vectors `paintingsFor` already took from `paintings` on it (taken once for a folder). */
  readonly conditioning?: Conditioning | null;
  readonly signal?: AbortSignal;
  readonly onStart?: (info: TranscodeStart) => void;
  readonly onProgress?: (progress: TranscodeProgress) => void;
}

export interface PaintingsRequest {
  readonly paths: readonly string[];
  readonly blend: number;
  readonly strength: number;
  /** The model's `arbitrary.paintingSize`. */
  readonly shortSide: number;
}

export interface TranscodeStart {
  readonly source: MediaInfo;
  readonly size: FrameSize;
  /** Where the model runs (smaller than `size` with a model scale below 1). */
  readonly modelSize: FrameSize;
  readonly provider: ExecutionProvider;
  /** Inference sessions running side by side. */
  /** The video codecs chosen, with why. */
  readonly codecs: VideoCodecChoice;
  readonly lanes: number;
  /** Frames per model run. */
  readonly batch: number;
  readonly skippedProviders: ReadonlyArray<{ provider: string; reason: string }>;
  /** The file the engine runs: the model, or its fp16 variant on a GPU. */
  readonly runningModelPath: string;
}

export interface TranscodeProgress {
  readonly frames: number;
  readonly totalFrames: number | null;
  readonly elapsedSeconds: number;
  readonly fps: number;
  readonly etaSeconds: number | null;
  readonly flicker: number | null;
  readonly inferenceMs: number;
}

export interface TranscodeSummary {
  readonly output: string;
  readonly frames: number;
  readonly seconds: number;
  readonly fps: number;
  readonly meanFlicker: number | null;
  readonly meanInferenceMs: number;
  readonly provider: ExecutionProvider;
  readonly size: FrameSize;
  readonly modelSize: FrameSize;
  readonly audio: 'copied' | 're-encoded' | 'none';
  readonly peakFrameBuffers: number;
  /** Model runs made (below `frames` when frames ran in batches). */
  readonly modelRuns: number;
}

/** Checks the output path before any work starts. */
export async function checkOutputPath(input: string, output: string, overwrite: boolean): Promise<void> {
  containerFor(output);
  const outputAbs = resolve(output);
  const inputReal = await realpath(input).catch(() => resolve(input));
  const outputReal = await realpath(outputAbs).catch(() => outputAbs);
  if (inputReal === outputReal) throw new StylecastError('OUTPUT_INVALID', `output is the same file as the input: ${output}`);
  const dir = dirname(outputAbs);
  const dirInfo = await stat(dir).catch(() => null);
  if (!dirInfo || !dirInfo.isDirectory()) throw new StylecastError('OUTPUT_INVALID', `output directory does not exist: ${dirname(output)}`);
  const existing = await stat(outputAbs).catch(() => null);
  if (existing?.isDirectory()) throw new StylecastError('OUTPUT_INVALID', `output is a directory: ${output}`);
  if (existing && !overwrite) throw new StylecastError('OUTPUT_INVALID', `output already exists: ${output} (use -y to overwrite)`);
  // Permission bits do not bind root, so try for real.
  const probe = join(dir, `.${basename(outputAbs)}.${randomBytes(4).toString('hex')}.probe`);
  try {
    await access(dir, constants.W_OK);
    await writeFile(probe, '', { flag: 'wx' });
  } catch {
    throw new StylecastError('OUTPUT_INVALID', `output directory is not writable: ${dirname(output)}`);
  }
  await unlink(probe).catch(() => undefined);
}

/**
 * Stylizes a video file: ffmpeg decode -> tensor -> model (worker) ->
 * coherence check -> RGB -> ffmpeg encode, with the source's audio and
 * metadata. Stages overlap; at most `framesInFlight` frames exist at once.
 * On any failure or abort every child, worker and temporary file is removed.
 */
export async function transcodeFile(options: TranscodeOptions): Promise<TranscodeSummary> {
  const { signal } = options;
  throwIfAborted(signal);
  const source = await probeMedia(options.input);
  checkSourceSize(source, options.maxInputPixels);
  checkFramePlan({ ...source, estimatedFrames: options.maxFrames ? null : source.estimatedFrames });
  await checkOutputPath(options.input, options.output, options.overwrite ?? false);
  await removeStalePartials(options.output);
  if (containerFor(options.output).still && (source.estimatedFrames ?? 1) > 1) {
    throw new StylecastError(
      'OUTPUT_INVALID',
      `${extname(options.output)} output is a still image, but the input has ${source.estimatedFrames} frames: write a video (.mp4, .webm, .mov, .mkv) or pass an image`,
    );
  }
  const outputSize = resolveSize(source, options.size ?? { kind: 'source' });
  const size = options.workingSize ? workingModelSize(outputSize, options.workingSize) : modelSizeFor(outputSize, options.modelScale ?? 1);
  const fps = { num: source.fpsNum, den: source.fpsDen };

  const ownEngine = options.engine === undefined;
  const engine = options.engine ?? await openEngineFor(options, isStillImage(source));
  let decoder: VideoDecoder | null = null;
  let encoder: VideoEncoder | null = null;
  const onAbort = () => {
    void decoder?.close();
    void encoder?.abort();
    if (ownEngine) void engine.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(signal);
    const still = containerFor(options.output).still === true;
    const codecs: VideoCodecChoice = still
      ? { encoder: 'libx264', decoder: null, reasons: ['an image out: no video codec to choose'] }
      : await chooseVideoCodecs(
        { policy: options.videoCodecs ?? 'auto', modelOnGpu: engine.provider !== 'cpu', sourceCodec: source.videoCodec },
        options.codecProbe ?? ffmpegCodecProbe(options.input),
      );
    throwIfAborted(signal);
    options.onStart?.({ source, size: outputSize, modelSize: size, provider: engine.provider, lanes: engine.laneCount, batch: engine.batch, codecs, skippedProviders: engine.skipped,
      runningModelPath: engine.runningModelPath,
    });
    decoder = new VideoDecoder({
      input: options.input, size, fps, ...(options.maxFrames ? { maxFrames: options.maxFrames } : {}), ...(codecs.decoder ? { videoDecoder: codecs.decoder } : {}),
    });
    encoder = new VideoEncoder({
      output: options.output, size, outputSize, fps, audioSource: source.audioCodec ? options.input : null, audioCodec: source.audioCodec, h264Encoder: codecs.encoder,
    });
    const enc = encoder;
    // Enough frames in flight that every lane can run a full batch while the next one gathers.
    const gate = new CreditGate(options.framesInFlight ?? Math.max(4, 2 * engine.laneCount * engine.batch));
    const stylizer = new FrameStylizer(engine, {
      stabilize: options.stabilize ?? false,
      outputChannels: 3,
      ...(options.stabilizeStrength !== undefined ? { stabilizeStrength: options.stabilizeStrength } : {}),
      poolSize: 16,
    });
    stylizer.setKeepColour(options.keepColour ?? 0);
    stylizer.setConditioning(options.engine && options.conditioning !== undefined ? options.conditioning : await paintingsFor(engine, options));
    const started = performance.now();
    const runsBefore = engine.batchCounts.runs;
    let frames = 0;
    let inferenceTotal = 0;
    await lastValueFrom(
      decodeStage(decoder, gate).pipe(
        stylizeStages(stylizer),
        encodeStage((data) => enc.write(data), gate),
        tap((frame) => {
          frames++;
          inferenceTotal += frame.inferenceMs;
          const elapsedSeconds = (performance.now() - started) / 1000;
          const rate = frames / Math.max(elapsedSeconds, 1e-6);
          const total = expectedFrames(source, options.maxFrames);
          options.onProgress?.({
            frames,
            totalFrames: total,
            elapsedSeconds,
            fps: rate,
            etaSeconds: total !== null ? Math.max(0, total - frames) / Math.max(rate, 1e-6) : null,
            flicker: frame.flicker,
            inferenceMs: frame.inferenceMs,
          });
        }),
      ),
      { defaultValue: null },
    );
    throwIfAborted(signal);
    checkNotTruncated(expectedFrames(source, options.maxFrames), frames, decoder.lastWarning);
    await encoder.finish();
    const seconds = (performance.now() - started) / 1000;
    return {
      output: options.output,
      frames,
      seconds,
      fps: frames / Math.max(seconds, 1e-6),
      meanFlicker: stylizer.meanFlicker,
      meanInferenceMs: frames ? inferenceTotal / frames : 0,
      provider: engine.provider,
      size: outputSize,
      modelSize: size,
      audio: source.audioCodec === null ? 'none' : containerFor(options.output).copyableAudio.has(source.audioCodec) ? 'copied' : 're-encoded',
      peakFrameBuffers: stylizer.peakFrameBuffers,
      modelRuns: engine.batchCounts.runs - runsBefore,
    };
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all([decoder?.close(), encoder?.abort(), ownEngine ? engine.close() : undefined]);
  }
}

/** The engine a transcode of `options.modelPath` opens for itself (or a folder of images opens once for all). */
export function openEngineFor(options: Pick<TranscodeOptions, 'modelPath' | 'device' | 'threads' | 'lanes' | 'batch' | 'signal' | 'gpuVariant'>, stillImages: boolean): Promise<StyleEngine> {
  return StyleEngine.open({
    modelPath: options.modelPath,
    device: options.device ?? 'auto',
    threads: options.threads ?? 0,
    // A still image is one frame: a second session would only cost its load.
    lanes: options.lanes || (stillImages ? 1 : 0),
    batch: stillImages ? 1 : options.batch ?? 1,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.gpuVariant ? { gpuVariant: options.gpuVariant } : {}),
  });
}

/** The style vectors of the requested paintings (contract 2), or null for a one-style model. */
export async function paintingsFor(engine: StyleEngine, options: Pick<TranscodeOptions, 'paintings' | 'modelPath' | 'maxInputPixels' | 'signal'>): Promise<Conditioning | null> {
  const request = options.paintings;
  if (engine.styleLength === null) {
    if (request?.paths.length) throw new StylecastError('USAGE', `${basename(options.modelPath)} has one style built in: a painting needs an any-painting model (contract 2)`);
    return null;
  }
  if (!request?.paths.length) throw new StylecastError('USAGE', `${basename(options.modelPath)} paints any painting: give one with --style-image`);
  const styles: Float32Array[] = [];
  for (const path of request.paths) {
    styles.push(await paintingStyle(engine, path, { shortSide: request.shortSide, ...(options.maxInputPixels ? { maxPixels: options.maxInputPixels } : {}), ...(options.signal ? { signal: options.signal } : {}) }));
  }
  return conditioningFor({ styles, blend: request.blend, strength: request.strength });
}

function expectedFrames(source: MediaInfo, maxFrames: number | undefined): number | null {
  if (source.estimatedFrames === null) return maxFrames ?? null;
  return maxFrames ? Math.min(maxFrames, source.estimatedFrames) : source.estimatedFrames;
}

/** ffmpeg decodes damaged files "successfully" up to the damage; compare with the container's count. */
function checkNotTruncated(expected: number | null, decodedFrames: number, lastWarning: string): void {
  if (expected === null || !lastWarning) return;
  if (decodedFrames < Math.floor(expected * 0.95) - 1) {
    throw new StylecastError(
      'INPUT_INVALID',
      `input is truncated or damaged: decoded ${decodedFrames} of ${expected} frames (ffmpeg: ${lastWarning.replace(/^\[[^\]]*\]\s*/, '')})`,
    );
  }
}
