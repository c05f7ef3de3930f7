import { StylecastError } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';

export type SizeRequest = { readonly kind: 'source' } | { readonly kind: 'exact'; readonly width: number; readonly height: number } | { readonly kind: 'height'; readonly height: number };

export const MIN_DIMENSION = 16;
export const MAX_DIMENSION = 8192;

/** Parses `--size WxH` / `--height N` (at most one of them). */
export function parseSizeRequest(size: string | undefined, height: string | undefined): SizeRequest {
  if (size !== undefined && height !== undefined) throw new StylecastError('USAGE', 'give --size or --height, not both');
  if (size !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(size.trim());
    if (!m) throw new StylecastError('USAGE', `--size must look like 640x360, got "${size}"`);
    const width = Number(m[1]);
    const h = Number(m[2]);
    checkDimension('--size width', width);
    checkDimension('--size height', h);
    return { kind: 'exact', width, height: h };
  }
  if (height !== undefined) {
    if (!/^\d+$/.test(height.trim())) throw new StylecastError('USAGE', `--height must be a whole number, got "${height}"`);
    const h = Number(height);
    checkDimension('--height', h);
    return { kind: 'height', height: h };
  }
  return { kind: 'source' };
}

function checkDimension(what: string, value: number): void {
  if (!Number.isInteger(value) || value < MIN_DIMENSION || value > MAX_DIMENSION) {
    throw new StylecastError('USAGE', `${what} must be between ${MIN_DIMENSION} and ${MAX_DIMENSION}, got ${value}`);
  }
}

/** The processing (and output) frame size for a source and a request. --height keeps the aspect ratio with an even width. */
export function resolveSize(source: FrameSize, request: SizeRequest): FrameSize {
  switch (request.kind) {
    case 'source':
      return { width: source.width, height: source.height };
    case 'exact':
      return { width: request.width, height: request.height };
    case 'height': {
      const width = Math.max(2, Math.round((source.width * request.height) / source.height / 2) * 2);
      return { width, height: request.height };
    }
  }
}

/** The size the model runs at for an output size and a model scale in (0, 1]: even (halves round up), at least 16 px (docs/model-contract.md, "Model scale"). */
export function modelSizeFor(output: FrameSize, scale: number): FrameSize {
  if (!(scale > 0 && scale <= 1)) throw new StylecastError('USAGE', `model scale must be in (0, 1], got ${scale}`);
  if (scale === 1) return output;
  const even = (v: number) => Math.max(MIN_DIMENSION, Math.round((v * scale) / 2) * 2);
  return { width: even(output.width), height: even(output.height) };
}

export const MIN_STROKE_SCALE = 0.25;
export const MAX_STROKE_SCALE = 4;

/** Parses `--stroke-scale K`: how many times larger than the model's own strokes they look on screen. */
export function parseStrokeScale(text: string | undefined): number {
  if (text === undefined) return 1;
  const value = Number(text);
  checkStrokeScale(value, `--stroke-scale must be a number from ${MIN_STROKE_SCALE} to ${MAX_STROKE_SCALE}, got "${text}"`);
  return value;
}

export function checkStrokeScale(value: number, message = `stroke scale must be from ${MIN_STROKE_SCALE} to ${MAX_STROKE_SCALE}, got ${value}`): void {
  if (!(Number.isFinite(value) && value >= MIN_STROKE_SCALE && value <= MAX_STROKE_SCALE)) throw new StylecastError('USAGE', message);
}

/** How a model's size follows the output: its manifest's scale and working size, and the user's stroke scale. */
export interface WorkingSize {
  /** `runtime.modelScale` (fast variants: 0.5), or the fast preset's scale. */
  readonly modelScale: number;
  /** `runtime.nativeShortSide`: the short side its strokes were made for; null: the output's own. */
  readonly nativeShortSide: number | null;
  /** > 1: larger strokes (the model runs smaller); < 1: finer ones, up to the output size. */
  readonly strokeScale: number;
}

/**
 * The fraction of the output size a model runs at (docs/model-contract.md,
 * "Working size"): a model trained to paint strokes for a 512 px short side
 * runs at 512 px on a 1080p output and is enlarged, so its strokes stay as
 * large on screen as in the painting instead of shrinking to a few pixels.
 * `trainer/sizing.py working_scale` is the same rule.
 */
export function workingScale(output: FrameSize, size: WorkingSize): number {
  checkStrokeScale(size.strokeScale);
  const short = Math.min(output.width, output.height);
  const native = size.nativeShortSide ?? short;
  return size.modelScale * Math.min(1, native / (size.strokeScale * short));
}

/** The model size for an output: modelSizeFor at workingScale. */
export function workingModelSize(output: FrameSize, size: WorkingSize): FrameSize {
  return modelSizeFor(output, workingScale(output, size));
}

/** The largest source accepted by default: 8192 px a side and about 36 MP (8192x4320 fits). */
export const DEFAULT_MAX_INPUT_PIXELS = 36_000_000;

/**
 * Refuses sources too large to decode safely, before any decoder starts (a
 * 1.5 MB JPEG can declare 16000x16000: 768 MB per RGB frame).
 */
export function checkSourceSize(source: FrameSize & { readonly path: string }, maxPixels = DEFAULT_MAX_INPUT_PIXELS): void {
  const pixels = source.width * source.height;
  if (source.width > MAX_DIMENSION || source.height > MAX_DIMENSION || pixels > maxPixels) {
    throw new StylecastError(
      'INPUT_INVALID',
      `${source.path} is ${source.width}x${source.height} (${(pixels / 1e6).toFixed(1)} MP): larger than ${MAX_DIMENSION} px a side or ${(maxPixels / 1e6).toFixed(0)} MP (--max-input-pixels)`,
    );
  }
}

/**
 * Refuses a frame plan the file cannot hold: constant-rate output of a video
 * whose timestamps jump (two frames ten hours apart) would repeat one frame
 * tens of thousands of times. No real video stores under 2 bytes a frame.
 */
export function checkFramePlan(source: { readonly path: string; readonly fileBytes: number; readonly estimatedFrames: number | null }): void {
  const frames = source.estimatedFrames;
  if (frames !== null && frames > 10_000 && source.fileBytes / frames < 2) {
    throw new StylecastError(
      'INPUT_INVALID',
      `${source.path}: its timestamps span ${frames} frames but the file holds only ${source.fileBytes} bytes (a gap in the timestamps?); re-time it first, e.g. ffmpeg -i IN -vf setpts=N/TB/30 -r 30 OUT`,
    );
  }
}
