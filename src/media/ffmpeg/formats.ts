import { extname } from 'node:path';
import { StylecastError } from '../../core/errors.js';

export interface ContainerSpec {
  readonly muxer: string;
  readonly videoArgs: readonly string[];
  /** Audio codecs this container takes as they are (stream copy). */
  readonly copyableAudio: ReadonlySet<string>;
  /** Encoder used when the source's audio cannot be copied. */
  readonly audioFallback: readonly string[];
  readonly extraArgs: readonly string[];
  /** A still image: one frame, no audio. */
  readonly still?: boolean;
}

const STILL_AUDIO = { copyableAudio: new Set<string>(), audioFallback: [], extraArgs: ['-frames:v', '1', '-update', '1'], still: true } as const;

const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '160k'];

const CONTAINERS: Record<string, ContainerSpec> = {
  '.mp4': {
    muxer: 'mp4',
    videoArgs: H264,
    copyableAudio: new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus']),
    audioFallback: AAC,
    extraArgs: ['-movflags', '+faststart'],
  },
  '.mov': {
    muxer: 'mov',
    videoArgs: H264,
    copyableAudio: new Set(['aac', 'mp3', 'ac3', 'alac', 'pcm_s16le', 'pcm_s24le', 'pcm_s16be', 'pcm_f32le']),
    audioFallback: AAC,
    extraArgs: ['-movflags', '+faststart'],
  },
  '.mkv': {
    muxer: 'matroska',
    videoArgs: H264,
    copyableAudio: new Set(['aac', 'mp3', 'ac3', 'eac3', 'opus', 'vorbis', 'flac', 'alac', 'pcm_s16le', 'pcm_s24le']),
    audioFallback: AAC,
    extraArgs: [],
  },
  '.webm': {
    muxer: 'webm',
    videoArgs: ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '32', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-pix_fmt', 'yuv420p'],
    copyableAudio: new Set(['opus', 'vorbis']),
    audioFallback: ['-c:a', 'libopus', '-b:a', '128k'],
    extraArgs: [],
  },
  '.png': { muxer: 'image2', videoArgs: ['-c:v', 'png', '-pix_fmt', 'rgb24'], ...STILL_AUDIO },
  '.jpg': { muxer: 'image2', videoArgs: ['-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj444p'], ...STILL_AUDIO },
  '.jpeg': { muxer: 'image2', videoArgs: ['-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj444p'], ...STILL_AUDIO },
  '.webp': { muxer: 'image2', videoArgs: ['-c:v', 'libwebp', '-quality', '90'], ...STILL_AUDIO },
};

export const SUPPORTED_OUTPUT_EXTENSIONS = Object.keys(CONTAINERS);

export function containerFor(outputPath: string): ContainerSpec {
  const ext = extname(outputPath).toLowerCase();
  const spec = CONTAINERS[ext];
  if (!spec) {
    throw new StylecastError(
      'OUTPUT_INVALID',
      `unsupported output extension "${ext || '(none)'}": use one of ${SUPPORTED_OUTPUT_EXTENSIONS.join(', ')}`,
    );
  }
  return spec;
}

/** `copy` when the container takes the source's audio codec, else the fallback encoder. */
export function audioArgs(spec: ContainerSpec, sourceAudioCodec: string | null): string[] {
  if (!sourceAudioCodec) return [];
  return spec.copyableAudio.has(sourceAudioCodec) ? ['-c:a', 'copy'] : [...spec.audioFallback];
}
