import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StylecastError } from '../../core/errors.js';
import { isNetworkUrl, openInputArgs, policyRefusal, type InputOptions } from './inputs.js';
import { FfmpegProcess, ffprobeBinary } from './process.js';

export interface MediaInfo {
  readonly path: string;
  /** Display size (after the rotation ffmpeg applies on decode). */
  readonly width: number;
  readonly height: number;
  /** Frame rate as a fraction, e.g. 30000/1001. */
  readonly fpsNum: number;
  readonly fpsDen: number;
  readonly durationSeconds: number | null;
  readonly estimatedFrames: number | null;
  readonly videoCodec: string;
  readonly audioCodec: string | null;
  readonly formatName: string;
  readonly fileBytes: number;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
  disposition?: { attached_pic?: number };
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { duration?: string; format_name?: string };
}

export function parseRate(text: string | undefined): [number, number] | null {
  if (!text) return null;
  const [n, d] = text.split('/').map(Number);
  if (!n || !Number.isFinite(n) || n <= 0) return null;
  const den = d && Number.isFinite(d) && d > 0 ? d : 1;
  return [n, den];
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new StylecastError('INPUT_INVALID', `input is a directory, not a video: ${path}`);
    if (info.isFIFO()) throw new StylecastError('INPUT_INVALID', `input is a named pipe (FIFO), not a file: ${path} (stylecast reads a file twice: once to probe it, once to decode it)`);
    if (!info.isFile()) throw new StylecastError('INPUT_INVALID', `input is not a regular file: ${path}`);
    return info.size;
  } catch (error) {
    if (error instanceof StylecastError) throw error;
    throw new StylecastError('INPUT_NOT_FOUND', `input file not found: ${path}`);
  }
}

const PROBE_TIMEOUT_MS = 15_000;
/** A probe reads headers and a frame or two: 2 GB of address space is far more than an 8K video needs. */
const PROBE_MEMORY_MB = 2048;

/** Reads what the pipeline needs from a media file or stream URL; clear errors for bad input. */
export async function probeMedia(path: string, options: InputOptions = {}): Promise<MediaInfo> {
  const network = isNetworkUrl(path); // a stream URL: ffprobe opens it
  const size = network ? Number.MAX_SAFE_INTEGER : await fileSize(path);
  if (size === 0) throw new StylecastError('INPUT_INVALID', `input file is empty: ${path}`);
  const open = openInputArgs(path, options);
  const probe = new FfmpegProcess(
    ffprobeBinary(),
    // ffprobe takes the input without -i; the policy's options go before it.
    ['-v', 'error', ...(network ? ['-rw_timeout', '10000000'] : []), '-print_format', 'json', '-show_format', '-show_streams', ...open.slice(0, -2), open.at(-1)!],
    // A probe reads headers; one that takes longer is reading something it should not (a huge or hostile file).
    { stdout: true, timeoutMs: network ? 20_000 : PROBE_TIMEOUT_MS, memoryLimitMb: PROBE_MEMORY_MB },
  );
  const chunks: Buffer[] = [];
  probe.stdout.on('data', (c: Buffer) => chunks.push(c));
  const status = await probe.exited;
  if (probe.failedToStart) throw probe.startError();
  let parsed: ProbeOutput = {};
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as ProbeOutput;
  } catch {
    parsed = {};
  }
  if (probe.timedOut) throw new StylecastError('INPUT_INVALID', `reading ${path} took longer than ${PROBE_TIMEOUT_MS / 1000} s: not a file stylecast reads`);
  if (status.code !== 0 || !parsed.format) {
    const refused = policyRefusal(probe.errorTail());
    if (refused) throw new StylecastError('INPUT_INVALID', `stylecast does not open ${path}: ${refused}`);
    const reason = probe.lastError().replace(`file:${resolve(path)}: `, '').replace(`${path}: `, '');
    throw new StylecastError('INPUT_INVALID', `${network ? 'cannot open the stream' : 'not a video ffmpeg can read'}: ${path}${reason ? ` (${reason})` : ''}`);
  }
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height) {
    throw new StylecastError('NO_VIDEO_STREAM', `no video stream in ${path}`);
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const rate = parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate) ?? [25, 1];
  const rotation = Math.abs(Number(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? video.tags?.rotate ?? 0)) % 180;
  const [width, height] = rotation === 90 ? [video.height, video.width] : [video.width, video.height];
  const duration = Number(video.duration ?? parsed.format.duration);
  const durationSeconds = Number.isFinite(duration) && duration > 0 ? duration : null;
  const frames = Number(video.nb_frames);
  const estimatedFrames = Number.isFinite(frames) && frames > 0
    ? frames
    : durationSeconds !== null ? Math.round((durationSeconds * rate[0]) / rate[1]) : null;
  return {
    path,
    width,
    height,
    fpsNum: rate[0],
    fpsDen: rate[1],
    durationSeconds,
    estimatedFrames,
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    formatName: parsed.format.format_name ?? 'unknown',
    fileBytes: size,
  };
}

/** One picture (a JPEG, PNG, WebP...): ffmpeg's image demuxers, whose frame count a PNG does not even state. */
export function isStillImage(info: Pick<MediaInfo, 'formatName' | 'estimatedFrames'>): boolean {
  return (info.estimatedFrames ?? 1) <= 1 && (info.formatName === 'image2' || info.formatName.endsWith('_pipe'));
}
