import { StylecastError, describeError } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import { VideoDecoder, type DecoderOptions } from '../media/ffmpeg/decoder.js';
import { probeMedia } from '../media/ffmpeg/probe.js';
import { checkSourceSize } from './sizing.js';
import type { LiveInputFrame } from './live.js';
import { retryDelayMs } from '../core/backoff.js';

export type SourceSpec =
  | { readonly kind: 'browser' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'v4l2'; readonly device: string }
  | { readonly kind: 'lavfi'; readonly graph: string }
  | { readonly kind: 'url'; readonly url: string; readonly listen: boolean };

/** Network protocols ffmpeg reads here (Debian's build): senders such as OBS 29 (SRT, RTMP), IP cameras (RTSP), HTTP streams. */
export const NETWORK_SCHEMES = ['srt', 'rtmp', 'rtsp', 'http', 'https', 'udp', 'tcp'] as const;

/**
 * A network URL as a source. `?listen` on rtmp/http/tcp makes ffmpeg the
 * server the sender connects to (stripped from the URL, passed as -listen 1);
 * SRT says it in its own URL (`?mode=listener`).
 */
export function parseNetworkUrl(text: string): { url: string; listen: boolean } | null {
  const scheme = /^([a-z]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (!scheme || !(NETWORK_SCHEMES as readonly string[]).includes(scheme)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StylecastError('USAGE', `not a valid URL: "${text}"`);
  }
  const listen = url.searchParams.has('listen') && scheme !== 'srt';
  if (listen) url.searchParams.delete('listen');
  return { url: listen ? url.toString().replace(/\?$/, '') : text, listen };
}

/**
 * A source that listens for a sender, on a server with a token, must make the
 * sender prove it knows something: an SRT listener requires the token as its
 * passphrase (added when the URL names none; a sender without it fails the
 * handshake). Listeners that cannot check a sender (RTMP, whose ffmpeg
 * listener takes any stream key; TCP, HTTP and UDP) are refused with a token.
 * Returns the spec to use and, for SRT, the line to tell the operator.
 */
export function guardListener(spec: SourceSpec, token: string | null): { spec: SourceSpec; note: string | null } {
  if (spec.kind !== 'url' || token === null) return { spec, note: null };
  const scheme = spec.url.slice(0, spec.url.indexOf(':')).toLowerCase();
  if (scheme === 'srt') {
    const url = new URL(spec.url);
    if (url.searchParams.get('mode') !== 'listener') return { spec, note: null };
    if (url.searchParams.has('passphrase')) return { spec, note: 'SRT senders must give the passphrase of the source URL' };
    if (token.length < 10 || token.length > 79) {
      throw new StylecastError('USAGE', 'an SRT listener on a server with a token uses the token as its passphrase, which SRT wants 10-79 characters long: use such a token, or put passphrase=... in the source URL');
    }
    url.searchParams.set('passphrase', token);
    return { spec: { ...spec, url: url.toString() }, note: 'SRT senders must add passphrase=<the token> to their URL (OBS: srt://HOST:PORT?passphrase=...)' };
  }
  if (spec.listen || scheme === 'udp') {
    throw new StylecastError('USAGE', `a ${scheme}:// ${scheme === 'udp' ? 'source' : 'listener'} takes a stream from any sender, and this server has a token: use an SRT listener (srt://0.0.0.0:PORT?mode=listener; the token becomes its passphrase) or WHIP`);
  }
  return { spec, note: null };
}

/** Input options per network protocol: reconnect for HTTP, TCP for RTSP, listening where asked. */
export function networkInputArgs(url: string, listen: boolean): string[] {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  const args: string[] = [];
  if (listen) args.push('-listen', '1');
  // A live sender: hand each frame on as soon as it is decoded (no input buffering, no frame-reordering delay).
  args.push('-fflags', 'nobuffer', '-flags', 'low_delay');
  if ((scheme === 'http' || scheme === 'https') && !listen) args.push('-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '5');
  if (scheme === 'rtsp') args.push('-rtsp_transport', 'tcp');
  // Give up on a silent sender (microseconds); the live source restarts it.
  if (scheme === 'rtsp' || scheme === 'http' || scheme === 'https') args.push('-rw_timeout', '10000000');
  return args;
}

/** `browser`, `file:PATH`, `v4l2:/dev/videoN`, `lavfi:GRAPH` or a network URL (srt://, rtmp://, rtsp://, http(s)://, udp://, tcp://). */
export function parseSourceSpec(text: string): SourceSpec {
  if (text === 'browser') return { kind: 'browser' };
  const network = parseNetworkUrl(text);
  if (network) return { kind: 'url', ...network };
  const colon = text.indexOf(':');
  const kind = colon > 0 ? text.slice(0, colon) : '';
  const rest = colon > 0 ? text.slice(colon + 1) : '';
  if (kind === 'file' && rest) return { kind: 'file', path: rest };
  if (kind === 'v4l2' && rest) return { kind: 'v4l2', device: rest };
  if (kind === 'lavfi' && rest) return { kind: 'lavfi', graph: rest };
  throw new StylecastError('USAGE', `unknown source "${text}": use browser, file:PATH, v4l2:/dev/videoN, lavfi:GRAPH or a URL (${NETWORK_SCHEMES.join(', ')})`);
}

export function describeSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'browser': return 'browser';
    case 'file': return `file:${spec.path}`;
    case 'v4l2': return `v4l2:${spec.device}`;
    case 'lavfi': return `lavfi:${spec.graph}`;
    // Credentials never reach logs, stats or the page: user:password@ and an SRT passphrase.
    case 'url': return `${spec.url.replace(/\/\/[^/@]*@/, '//***@').replace(/([?&](?:passphrase|streamid)=)[^&]*/gi, '$1***')}${spec.listen ? ' (listening)' : ''}`;
  }
}

/** A file source is probed before serving: it must be a readable video within the size cap. */
export async function checkLiveSource(spec: SourceSpec, maxInputPixels?: number): Promise<void> {
  if (spec.kind !== 'file') return;
  checkSourceSize(await probeMedia(spec.path), maxInputPixels);
}

export function decoderOptionsFor(spec: Exclude<SourceSpec, { kind: 'browser' }>, size: FrameSize, fps: number): DecoderOptions {
  const common = { size, fps: { num: fps, den: 1 }, pixelFormat: 'rgba' as const };
  switch (spec.kind) {
    case 'file':
      return { ...common, input: spec.path, inputArgs: ['-stream_loop', '-1'], realtime: true };
    case 'v4l2':
      return { ...common, input: spec.device, inputArgs: ['-f', 'v4l2'], device: true };
    case 'lavfi':
      return { ...common, input: spec.graph, inputArgs: ['-f', 'lavfi'], realtime: true, device: true };
    case 'url':
      return { ...common, input: spec.url, inputArgs: networkInputArgs(spec.url, spec.listen) };
  }
}

/**
 * A server-side source (RGBA frames): an ffmpeg child (looped file, camera, lavfi graph)
 * decoding in real time. If ffmpeg stops, it is restarted after a pause until
 * close(); each failure is logged once.
 */
export class FfmpegLiveSource {
  private decoder: VideoDecoder | null = null;
  private closed = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    readonly spec: Exclude<SourceSpec, { kind: 'browser' }>,
    private readonly size: FrameSize,
    private readonly fps: number,
    private readonly onFrame: (frame: LiveInputFrame) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.closed) return;
    const decoder = new VideoDecoder(decoderOptionsFor(this.spec, this.size, this.fps));
    this.decoder = decoder;
    void (async () => {
      try {
        for await (const frame of decoder.frames()) {
          if (this.closed) return;
          this.failures = 0;
          this.onFrame({ width: frame.width, height: frame.height, channels: 4, data: frame.data, receivedAt: frame.receivedAt });
        }
        if (!this.closed) this.log.warn(`source ${describeSource(this.spec)} ended; restarting`);
      } catch (error) {
        if (!this.closed) this.log.warn(`source ${describeSource(this.spec)} failed: ${describeError(error)}`);
      } finally {
        await decoder.close();
        if (!this.closed) {
          this.failures++;
          this.restartTimer = setTimeout(() => this.start(), retryDelayMs(this.failures - 1, 10_000));
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.decoder?.close();
  }
}
