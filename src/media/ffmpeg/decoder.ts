import { performance } from 'node:perf_hooks';
import { StylecastError } from '../../core/errors.js';
import type { FrameSize, RgbFrame } from '../../core/frame.js';
import { FrameChunker } from './chunker.js';
import { openInputArgs } from './inputs.js';
import { FfmpegProcess, ffmpegBinary } from './process.js';

export interface DecoderOptions {
  /** A media file or network URL, opened under the input policy (inputs.ts); or, with `device`, an operator's device or filter graph. */
  readonly input: string;
  /** Extra arguments placed before `-i` (e.g. ['-f', 'lavfi'] or ['-stream_loop', '-1']). */
  readonly inputArgs?: readonly string[];
  /** The input is the operator's device or lavfi graph (`inputArgs` says which), opened as given. */
  readonly device?: boolean;
  /** Pin a media file to one demuxer (a painting: the format its bytes say). */
  readonly format?: string;
  /** Output frame size; ffmpeg scales when it differs from the source. */
  readonly size: FrameSize;
  /** Constant output frame rate (frames are duplicated/dropped to hold it), as num/den. */
  readonly fps?: { readonly num: number; readonly den: number };
  /** Output pixels: packed RGB24 (default) or RGBA. */
  readonly pixelFormat?: 'rgb24' | 'rgba';
  /** Stop after this many frames. */
  readonly maxFrames?: number;
  /** Read the input at its native rate (live sources from files). */
  readonly realtime?: boolean;
  /** A decoder other than ffmpeg's default for the stream (an NVDEC `*_cuvid` one; gpu-codecs.ts chooses). */
  readonly videoDecoder?: string;
}

export function decoderArgs(options: DecoderOptions): string[] {
  const filters: string[] = [];
  if (options.fps) filters.push(`fps=${options.fps.num}/${options.fps.den}`);
  const pixelFormat = options.pixelFormat ?? 'rgb24';
  // area: box averaging when shrinking, bilinear (half-pixel centres) when enlarging: the model contract's scaling rule.
  filters.push(`scale=${options.size.width}:${options.size.height}:flags=area`, `format=${pixelFormat}`);
  return [
    '-nostdin', '-hide_banner', '-v', 'error',
    ...(options.realtime ? ['-re'] : []),
    ...(options.inputArgs ?? []),
    ...(options.videoDecoder ? ['-c:v', options.videoDecoder] : []),
    ...(options.device ? ['-i', options.input] : openInputArgs(options.input, options.format ? { format: options.format } : {})),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', filters.join(','),
    ...(options.maxFrames ? ['-frames:v', String(options.maxFrames)] : []),
    '-f', 'rawvideo', '-pix_fmt', pixelFormat, 'pipe:1',
  ];
}

/**
 * An ffmpeg child that decodes one video stream to raw RGB24 frames on stdout.
 * `frames()` pulls: while the consumer does not ask for the next frame, the pipe
 * fills and ffmpeg blocks, so memory stays bounded whatever the file's length.
 */
export class VideoDecoder {
  private readonly process: FfmpegProcess;
  private framesDecoded = 0;

  constructor(readonly options: DecoderOptions) {
    this.process = new FfmpegProcess(ffmpegBinary(), decoderArgs(options), { stdout: true });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get decodedFrames(): number {
    return this.framesDecoded;
  }

  /** ffmpeg's last complaint on stderr, if any (used to spot damaged input). */
  get lastWarning(): string {
    return this.process.lastError();
  }

  async *frames(): AsyncGenerator<RgbFrame> {
    const { width, height } = this.options.size;
    const chunker = new FrameChunker(width * height * (this.options.pixelFormat === 'rgba' ? 4 : 3));
    for await (const chunk of this.process.stdout as AsyncIterable<Buffer>) {
      for (const data of chunker.push(chunk)) {
        yield { index: this.framesDecoded++, width, height, data, receivedAt: performance.now() };
      }
    }
    if (this.process.failedToStart) throw this.process.startError();
    await this.process.waitForSuccess('decoding');
    if (this.framesDecoded === 0) {
      const detail = this.process.lastError();
      throw new StylecastError('INPUT_INVALID', `no frames could be decoded from ${this.options.input}${detail ? ` (${detail})` : ''}`);
    }
  }

  close(): Promise<unknown> {
    return this.process.close();
  }
}
