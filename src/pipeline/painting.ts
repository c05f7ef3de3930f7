import { rmSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atExit } from '../core/at-exit.js';
import { StylecastError, throwIfAborted } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import { VideoDecoder } from '../media/ffmpeg/decoder.js';
import { probeMedia } from '../media/ffmpeg/probe.js';
import { IMAGE_DEMUXERS, IMAGE_HEADER_BYTES, imageHeader } from '../media/image-header.js';
import type { Conditioning } from '../models/contract.js';
import type { StyleEngine } from '../models/engine.js';
import { checkSourceSize } from './sizing.js';
import { rgbToTensor } from '../models/pixels.js';

/**
 * Paintings for the arbitrary-style models (contract 2): a painting becomes a
 * style vector once, through the model's style encoder; strength and blending
 * are then arithmetic on vectors, so changing them costs nothing per frame.
 */

/** Uploads above this are refused before they are decoded. */
export const MAX_PAINTING_BYTES = 10 * 1024 * 1024;
/** A painting's long side is capped at this multiple of its short side (panoramas). */
const MAX_ASPECT = 4;

export interface PaintingMix {
  /** One or two style vectors. */
  readonly styles: readonly Float32Array[];
  /** The weight of the second painting, in [0, 1] (ignored with one). */
  readonly blend: number;
  /** 0 = the frame as it is (through the autoencoder), 1 = the painting's statistics. */
  readonly strength: number;
}

/** The size a painting is read at: its short side `shortSide`, aspect kept (up to 4:1), both sides even. */
export function paintingSizeFor(source: FrameSize, shortSide: number): FrameSize {
  const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
  const portrait = source.height > source.width;
  const short = Math.min(source.width, source.height);
  const long = Math.min(Math.max(source.width, source.height) * (shortSide / short), shortSide * MAX_ASPECT);
  return portrait ? { width: even(shortSide), height: even(long) } : { width: even(long), height: even(shortSide) };
}

/** The weighted mean of two style vectors: (1 - blend) * a + blend * b. */
export function blendStyles(a: Float32Array, b: Float32Array, blend: number): Float32Array {
  if (a.length !== b.length) throw new StylecastError('USAGE', `style vectors differ in length (${a.length} and ${b.length})`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + (b[i]! - a[i]!) * blend;
  return out;
}

/** What the stylizer gets for a mix: the blended vector and the strength. */
export function conditioningFor(mix: PaintingMix): Conditioning {
  const [first, second] = mix.styles;
  if (!first) throw new StylecastError('USAGE', 'no painting chosen');
  return { style: second ? blendStyles(first, second, mix.blend) : first, strength: mix.strength };
}

/** A fraction in [0, 1] from a flag or a message; `what` names it in the error. */
export function parseFraction(value: unknown, what: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0 || number > 1) {
    throw new StylecastError('USAGE', `${what} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** The image type of uploaded bytes (JPEG, PNG, WebP, BMP), or a clear error; checks the size cap first. */
export function sniffPainting(bytes: Uint8Array, maxBytes = MAX_PAINTING_BYTES): string {
  if (bytes.length === 0) throw new StylecastError('INPUT_INVALID', 'the painting is empty');
  if (bytes.length > maxBytes) {
    throw new StylecastError('TOO_LARGE', `the painting is ${(bytes.length / 1048576).toFixed(1)} MB; the limit is ${(maxBytes / 1048576).toFixed(0)} MB`);
  }
  const header = imageHeader(bytes);
  if (!header) throw new StylecastError('INPUT_INVALID', 'the painting is not a JPEG, PNG, WebP or BMP image');
  // Refused by its header alone: a few MB can declare a picture of gigabytes.
  if (header.width !== null && header.height !== null) checkSourceSize({ path: 'the painting', width: header.width, height: header.height });
  return header.type;
}

export interface PaintingOptions {
  /** The model's `arbitrary.paintingSize`: the short side the painting is read at. */
  readonly shortSide: number;
  readonly maxPixels?: number;
  readonly signal?: AbortSignal;
}

/** The first bytes of a file (the image header); the file's own errors in the probe's words. */
async function headOf(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r').catch(() => {
    throw new StylecastError('INPUT_NOT_FOUND', `input file not found: ${path}`);
  });
  try {
    if (!(await file.stat()).isFile()) throw new StylecastError('INPUT_INVALID', `${path} is not a file`);
    const buffer = new Uint8Array(IMAGE_HEADER_BYTES);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * Decodes a painting file at its reading size into a [0, 1] NCHW tensor: its type and
 * size come from its header first (too large is refused undecoded), then it is decoded
 * only as that type.
 */
async function readPainting(path: string, options: PaintingOptions): Promise<{ tensor: Float32Array } & FrameSize> {
  const header = imageHeader(await headOf(path));
  if (!header) throw new StylecastError('INPUT_INVALID', `${path} is not an image ffmpeg can read (a painting must be a JPEG, PNG, WebP or BMP)`);
  if (header.width !== null && header.height !== null) checkSourceSize({ path, width: header.width, height: header.height }, options.maxPixels);
  const format = IMAGE_DEMUXERS[header.type];
  const source = await probeMedia(path, { format }).catch((error: unknown) => {
    if (error instanceof StylecastError && (error.code === 'INPUT_INVALID' || error.code === 'NO_VIDEO_STREAM')) {
      throw new StylecastError('INPUT_INVALID', `${path} is not an image ffmpeg can read (a painting must be a JPEG, PNG, WebP or BMP)`);
    }
    throw error;
  });
  if ((source.estimatedFrames ?? 1) > 1) throw new StylecastError('INPUT_INVALID', `${path} is a video, not a painting: give a still image`);
  checkSourceSize(source, options.maxPixels);
  const size = paintingSizeFor(source, options.shortSide);
  const decoder = new VideoDecoder({ input: path, format, size, maxFrames: 1 });
  const onAbort = () => void decoder.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      for await (const frame of decoder.frames()) {
        const tensor = new Float32Array(size.width * size.height * 3);
        rgbToTensor(frame.data, size.width, size.height, tensor, size.width, size.height);
        return { tensor, ...size };
      }
    } catch (error) {
      // A header without a picture behind it (truncated, corrupt) is a bad painting, not a server fault.
      if (error instanceof StylecastError && error.code === 'FFMPEG_FAILED') throw new StylecastError('INPUT_INVALID', `no picture could be decoded from ${path}`);
      throw error;
    }
    throw new StylecastError('INPUT_INVALID', `no picture could be decoded from ${path}`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await decoder.close();
  }
}

/** A painting file -> its style vector, through the engine's style encoder. */
export async function paintingStyle(engine: StyleEngine, path: string, options: PaintingOptions): Promise<Float32Array> {
  if (engine.styleLength === null) throw new StylecastError('USAGE', 'this model has one style built in: it takes no painting');
  const painting = await readPainting(path, options);
  throwIfAborted(options.signal);
  return engine.encodeStyle(painting.tensor, painting.height, painting.width);
}

/** Uploaded bytes -> a style vector: sniffed and capped first, decoded from a private temporary file. */
export async function paintingStyleFromBytes(engine: StyleEngine, bytes: Uint8Array, options: PaintingOptions): Promise<Float32Array> {
  const type = sniffPainting(bytes);
  const dir = await mkdtemp(join(tmpdir(), 'stylecast-painting-'));
  // Removed on every path, also when the process exits mid-read (SIGTERM).
  const forget = atExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const path = join(dir, `painting.${type}`);
    await writeFile(path, bytes, { mode: 0o600 });
    return await paintingStyle(engine, path, options).catch((error: unknown) => {
      // The temporary name means nothing to the sender.
      if (error instanceof StylecastError) throw new StylecastError(error.code, error.message.replaceAll(path, 'the painting'));
      throw error;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}
