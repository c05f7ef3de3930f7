import { resolve } from 'node:path';
import { StylecastError } from '../../core/errors.js';

/**
 * What ffmpeg may open for an input, decided in one place. ffmpeg reads a name
 * as a protocol (`concat:`, `subfile:`, `http:`) and a file by what its bytes
 * say (an `.mp4` that is an HLS playlist reads the files it names), so:
 *
 * - a local file opens through the file protocol alone, by its absolute path
 *   behind `file:` (no name is read as a protocol), and only with the demuxers
 *   of real media (no playlists, concat scripts, manifests or devices);
 * - a network URL opens only with its own scheme's protocols (an http source
 *   cannot make ffmpeg read a local file, whatever it serves);
 * - a still image can be pinned to one demuxer (a painting is decoded only as
 *   the format its bytes say).
 */

/** Demuxers of the containers, elementary streams and image formats stylecast promises to read. */
export const MEDIA_DEMUXERS: readonly string[] = [
  'mov', 'matroska', 'webm', 'avi', 'flv', 'mpegts', 'mpeg', 'mpegvideo', 'asf', 'ogg', 'mxf', 'nut', 'dv', 'ivf', 'obu',
  'h264', 'hevc', 'm4v', 'mjpeg', 'yuv4mpegpipe', 'gif', 'apng', 'image2',
  'png_pipe', 'jpeg_pipe', 'webp_pipe', 'bmp_pipe', 'tiff_pipe', 'gif_pipe', 'pam_pipe', 'ppm_pipe', 'pgm_pipe', 'qoi_pipe',
  // audio beside the video in the same file (the transcoder copies it)
  'wav', 'mp3', 'aac', 'flac',
];

/** The protocols a network URL may use, by its scheme (what the operator passed is what ffmpeg may open). */
const URL_PROTOCOLS: Readonly<Record<string, string>> = {
  http: 'http,https,tcp,tls,crypto',
  https: 'http,https,tcp,tls,crypto',
  srt: 'srt,udp',
  rtmp: 'rtmp,rtmps,tcp,tls',
  rtmps: 'rtmp,rtmps,tcp,tls',
  rtsp: 'rtsp,rtp,srtp,udp,tcp,tls',
  udp: 'udp',
  tcp: 'tcp',
  rtp: 'rtp,srtp,udp',
};

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Whether an input is a network URL (scheme://...) rather than a file name. */
export function isNetworkUrl(input: string): boolean {
  return SCHEME.test(input);
}

export interface InputOptions {
  /** Pin a local file to one demuxer (e.g. 'png_pipe'). */
  readonly format?: string;
}

/** The ffmpeg arguments that open `input` under the policy above: everything from the input options to `-i NAME`. */
export function openInputArgs(input: string, options: InputOptions = {}): string[] {
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const protocols = URL_PROTOCOLS[scheme];
    if (!protocols) {
      throw new StylecastError('INPUT_INVALID', `stylecast does not open ${scheme}:// URLs: give a file, or an ${Object.keys(URL_PROTOCOLS).join(', ')} URL`);
    }
    return ['-protocol_whitelist', protocols, '-i', input];
  }
  const demuxer = options.format ? ['-f', options.format] : ['-format_whitelist', MEDIA_DEMUXERS.join(',')];
  return ['-protocol_whitelist', 'file', ...demuxer, '-i', `file:${resolve(input)}`];
}

/** ffmpeg's refusal under the policy, as a reason a user can act on (null when it was something else). */
export function policyRefusal(ffmpegError: string): string | null {
  if (/Format not on whitelist|Protocol '[^']*' not on whitelist/i.test(ffmpegError)) {
    return 'it is a playlist, script or other container that names further files or URLs, which stylecast does not follow';
  }
  return null;
}
