import { StylecastError } from '../../core/errors.js';
import { openInputArgs } from './inputs.js';
import { FfmpegProcess, ffmpegBinary } from './process.js';

/**
 * Which video codecs ffmpeg runs for a file: NVIDIA's (NVENC to encode H.264,
 * NVDEC through the `*_cuvid` decoders) or the CPU's (libx264, ffmpeg's own
 * decoders). At 1080p and hundreds of frames a second on a GPU, decode and
 * encode on the CPU become the limit; on a CPU-bound model they cost nothing
 * that matters, so `auto` asks for the GPU's only when the model runs on one.
 * Data-centre GPUs (H100, H200) have NVDEC but no NVENC; consumer GPUs both:
 * each half is probed on its own, and each choice says why.
 */
export type VideoCodecPolicy = 'auto' | 'gpu' | 'cpu';

export const VIDEO_CODEC_POLICIES: readonly VideoCodecPolicy[] = ['auto', 'gpu', 'cpu'];

export type H264Encoder = 'libx264' | 'h264_nvenc';

export interface VideoCodecChoice {
  readonly encoder: H264Encoder;
  /** A `*_cuvid` decoder for the source, or null: ffmpeg's own (CPU) decoder. */
  readonly decoder: string | null;
  /** One line per half: what was chosen and why. */
  readonly reasons: readonly string[];
}

/** Sources whose codec has an NVDEC decoder in ffmpeg (ffprobe's codec name -> the decoder). */
const CUVID_DECODERS: Readonly<Record<string, string>> = {
  h264: 'h264_cuvid', hevc: 'hevc_cuvid', av1: 'av1_cuvid', vp9: 'vp9_cuvid', vp8: 'vp8_cuvid',
  mpeg2video: 'mpeg2_cuvid', mpeg4: 'mpeg4_cuvid', mjpeg: 'mjpeg_cuvid', vc1: 'vc1_cuvid',
};

/** NVENC's H.264 settings: constant quality near libx264's crf 18, the middle preset (p4). */
export const NVENC_ARGS: readonly string[] = ['-c:v', 'h264_nvenc', '-preset', 'p4', '-rc', 'vbr', '-cq', '19', '-b:v', '0', '-pix_fmt', 'yuv420p'];

/** A codec works here (null), or why not (ffmpeg's own reason, one line). */
export interface CodecProbe {
  encoder(name: H264Encoder): Promise<string | null>;
  decoder(name: string): Promise<string | null>;
}

export function parseVideoCodecPolicy(text: string): VideoCodecPolicy {
  if ((VIDEO_CODEC_POLICIES as readonly string[]).includes(text)) return text as VideoCodecPolicy;
  throw new StylecastError('USAGE', `--video-codecs takes ${VIDEO_CODEC_POLICIES.join(', ')}, not "${text}"`);
}

/**
 * The codecs for one file. `gpu` insists: a GPU codec that does not work is an
 * error (a source codec NVDEC has no decoder for is not: it decodes on the CPU).
 */
export async function chooseVideoCodecs(
  request: { readonly policy: VideoCodecPolicy; readonly modelOnGpu: boolean; readonly sourceCodec: string },
  probe: CodecProbe,
): Promise<VideoCodecChoice> {
  if (request.policy === 'cpu') return { encoder: 'libx264', decoder: null, reasons: ['libx264 and the CPU decoder (--video-codecs cpu)'] };
  if (request.policy === 'auto' && !request.modelOnGpu) {
    return { encoder: 'libx264', decoder: null, reasons: ['libx264 and the CPU decoder (the model runs on the CPU)'] };
  }
  const strict = request.policy === 'gpu';
  const reasons: string[] = [];
  const encoderProblem = await probe.encoder('h264_nvenc');
  if (encoderProblem && strict) throw new StylecastError('DEVICE_UNAVAILABLE', `--video-codecs gpu: NVENC (h264_nvenc) does not work here: ${encoderProblem}`);
  const encoder: H264Encoder = encoderProblem ? 'libx264' : 'h264_nvenc';
  reasons.push(encoderProblem ? `libx264 (h264_nvenc unavailable: ${encoderProblem})` : 'h264_nvenc (NVENC)');

  const cuvid = CUVID_DECODERS[request.sourceCodec];
  let decoder: string | null = null;
  if (!cuvid) {
    reasons.push(`the CPU decoder (NVDEC has no ${request.sourceCodec} decoder)`);
  } else {
    const decoderProblem = await probe.decoder(cuvid);
    if (decoderProblem && strict) throw new StylecastError('DEVICE_UNAVAILABLE', `--video-codecs gpu: NVDEC (${cuvid}) does not work here: ${decoderProblem}`);
    decoder = decoderProblem ? null : cuvid;
    reasons.push(decoderProblem ? `the CPU decoder (${cuvid} unavailable: ${decoderProblem})` : `${cuvid} (NVDEC)`);
  }
  return { encoder, decoder, reasons };
}

/** ffmpeg's reason for a failed probe: its telling line, without the `[codec @ 0x...]` prefix. */
export function probeReason(stderr: string, code: number | null): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trim()).filter(Boolean);
  const telling = lines.find((l) => /cannot load|not found|no capable devices|unsupported|driver|failed|error/i.test(l)) ?? lines.at(-1);
  return (telling ?? `ffmpeg exit code ${code}`).slice(0, 200);
}

const PROBE_TIMEOUT_MS = 15_000;

async function runProbe(args: readonly string[]): Promise<string | null> {
  const child = new FfmpegProcess(ffmpegBinary(), ['-nostdin', '-hide_banner', '-v', 'error', ...args], { timeoutMs: PROBE_TIMEOUT_MS });
  const status = await child.exited;
  if (child.failedToStart) throw child.startError();
  if (child.timedOut) return `no answer in ${PROBE_TIMEOUT_MS / 1000} s`;
  return status.code === 0 ? null : probeReason(child.errorTail(), status.code);
}

const encoderResults = new Map<H264Encoder, Promise<string | null>>();

/**
 * Real probes: the encoder on two frames of a synthetic picture (once per process),
 * the decoder on the first frame of the file itself (opened under the input policy).
 */
export function ffmpegCodecProbe(source: string): CodecProbe {
  return {
    encoder(name) {
      let result = encoderResults.get(name);
      if (!result) {
        const args = name === 'h264_nvenc' ? NVENC_ARGS : ['-c:v', 'libx264'];
        result = runProbe(['-f', 'lavfi', '-i', 'color=c=gray:s=256x144:r=30', '-frames:v', '2', ...args, '-f', 'null', '-']);
        encoderResults.set(name, result);
      }
      return result;
    },
    decoder(name) {
      return runProbe(['-c:v', name, ...openInputArgs(source), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-']);
    },
  };
}
