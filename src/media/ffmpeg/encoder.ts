import { readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StylecastError } from '../../core/errors.js';
import type { FrameSize } from '../../core/frame.js';
import { audioArgs, containerFor } from './formats.js';
import { NVENC_ARGS, type H264Encoder } from './gpu-codecs.js';
import { openInputArgs } from './inputs.js';
import { FfmpegProcess, ffmpegBinary } from './process.js';

export interface EncoderOptions {
  readonly output: string;
  /** Size of the frames written to the encoder. */
  readonly size: FrameSize;
  /** Size of the output file, when it differs (frames are scaled up by ffmpeg). */
  readonly outputSize?: FrameSize;
  readonly fps: { readonly num: number; readonly den: number };
  /** Source file whose audio and global metadata are carried over (null: none). */
  readonly audioSource: string | null;
  readonly audioCodec: string | null;
  /** H.264 outputs (.mp4, .mov, .mkv): libx264 (default) or NVENC (gpu-codecs.ts chooses). */
  readonly h264Encoder?: H264Encoder;
}

/** `.NAME.PID.RANDOM.partial` beside the output: the pid lets a later run tell a dead writer's file from a live one's. */
export function temporaryPathFor(output: string, pid = process.pid): string {
  return join(dirname(output), `.${basename(output)}.${pid}.${randomBytes(4).toString('hex')}.partial`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files of this output left by runs that were killed
 * (SIGKILL gives no chance to clean up). Files of live processes are kept.
 * Returns the paths removed.
 */
export async function removeStalePartials(output: string): Promise<string[]> {
  const prefix = `.${basename(output)}.`;
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const pid = Number(/^(\d+)\.[0-9a-f]{8}\.partial$/.exec(name.slice(prefix.length))?.[1]);
    if (!pid || processAlive(pid)) continue;
    const path = join(dirname(output), name);
    await unlink(path).then(() => removed.push(path), () => undefined);
  }
  return removed;
}

export function encoderArgs(options: EncoderOptions, tempPath: string): string[] {
  const spec = containerFor(options.output);
  const { width, height } = options.size;
  const args = [
    '-nostdin', '-hide_banner', '-v', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`,
    '-framerate', `${options.fps.num}/${options.fps.den}`, '-i', 'pipe:0',
  ];
  const withAudio = !spec.still && options.audioSource !== null && options.audioCodec !== null;
  if (withAudio) args.push(...openInputArgs(options.audioSource!));
  args.push('-map', '0:v:0');
  if (withAudio) args.push('-map', '1:a:0?', '-map_metadata', '1', ...audioArgs(spec, options.audioCodec));
  const filters: string[] = [];
  const out = options.outputSize ?? options.size;
  // Back up from the model size: swscale's bicubic, the model contract's enlargement (torch's bicubic within 0.2/255 on smooth pictures).
  if (out.width !== width || out.height !== height) filters.push(`scale=${out.width}:${out.height}:flags=bicubic`);
  // 4:2:0 needs even dimensions: an odd last row/column is cropped (still images keep every pixel).
  if (!spec.still && (out.width % 2 !== 0 || out.height % 2 !== 0)) filters.push('crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0');
  if (filters.length) args.push('-vf', filters.join(','));
  const videoArgs = options.h264Encoder === 'h264_nvenc' && spec.videoArgs.includes('libx264') ? NVENC_ARGS : spec.videoArgs;
  args.push(...videoArgs, ...spec.extraArgs, '-f', spec.muxer, tempPath);
  return args;
}

/**
 * Raw RGB24 frames in on stdin, a finished file out. Writes to a hidden
 * temporary name beside the output and renames it only when ffmpeg succeeded,
 * so a failed or interrupted run never leaves a half-written output.
 */
export class VideoEncoder {
  readonly tempPath: string;
  private readonly process: FfmpegProcess;
  private finished = false;

  constructor(readonly options: EncoderOptions) {
    this.tempPath = temporaryPathFor(options.output);
    this.process = new FfmpegProcess(ffmpegBinary(), encoderArgs(options, this.tempPath), { stdin: true });
    void this.process.exited.then(() => undefined);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Resolves once ffmpeg's pipe took the frame (the caller's backpressure signal). */
  write(frame: Uint8Array): Promise<void> {
    const expected = this.options.size.width * this.options.size.height * 3;
    if (frame.length !== expected) {
      return Promise.reject(new RangeError(`frame has ${frame.length} bytes, expected ${expected}`));
    }
    if (!this.process.running) return Promise.reject(this.deathError());
    return new Promise((resolve, reject) => {
      this.process.stdin.write(frame, (error) => {
        if (error) reject(this.deathError());
        else {
          resolve();
        }
      });
    });
  }

  /** Ends the stream, waits for ffmpeg, and moves the file into place. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.process.stdin.end();
    try {
      await this.process.waitForSuccess('encoding');
      await rename(this.tempPath, this.options.output);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Kills ffmpeg and removes the temporary file. Safe to call many times. */
  async abort(): Promise<void> {
    this.finished = true;
    await this.process.close();
    await this.discard();
  }

  private async discard(): Promise<void> {
    await unlink(this.tempPath).catch(() => undefined);
  }

  private deathError(): StylecastError {
    if (this.process.failedToStart) return this.process.startError();
    const detail = this.process.lastError();
    return new StylecastError('FFMPEG_FAILED', `encoder stopped unexpectedly${detail ? `: ${detail}` : ''}`);
  }
}
