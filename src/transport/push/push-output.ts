/**
 * `serve --push URL`: the stylized stream sent out to an ingest server
 * (RTMP/RTMPS: Twitch, YouTube, a restreamer, an nginx-rtmp; SRT in caller
 * mode: OBS 30+ or another stylecast listening), encoded once at the stream's
 * declared rate. A failed or dropped connection is retried with backoff; the
 * server goes on either way.
 */
import { StylecastError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { BroadcastSink } from '../sink.js';
import { FramePacer } from '../frame-pacer.js';
import { LiveEncoder } from '../live-encoder.js';
import { retryDelayMs } from '../../core/backoff.js';

export interface PushStatus {
  readonly url: string;
  readonly state: 'waiting' | 'pushing' | 'retrying' | 'closed';
  readonly framesSent: number;
  readonly restarts: number;
  readonly lastError: string | null;
}


/** rtmp(s)://... or srt://...; anything else is a one-line usage error. */
export function parsePushUrl(text: string): { url: string; format: 'flv' | 'mpegts' } {
  const scheme = /^([a-z]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'rtmp' || scheme === 'rtmps') return { url: text, format: 'flv' };
  if (scheme === 'srt') {
    const url = new URL(text);
    if ((url.searchParams.get('mode') ?? 'caller') !== 'caller') throw new StylecastError('USAGE', `--push ${scheme}:// sends to a listener: use mode=caller (the default), not mode=${url.searchParams.get('mode')}`);
    return { url: text, format: 'mpegts' };
  }
  throw new StylecastError('USAGE', `--push takes an rtmp://, rtmps:// or srt:// URL, got "${text.slice(0, 80)}"`);
}

/** The URL as it may be shown: no stream key, password or passphrase. */
export function maskPushUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@').replace(/([?&](?:passphrase|streamid)=)[^&]*/gi, '$1***').replace(/^(rtmps?:\/\/[^/]+\/[^/?]+\/).+$/i, '$1***');
}

export function pushEncoderArgs(width: number, height: number, fps: number, url: string, format: 'flv' | 'mpegts'): string[] {
  return [
    '-nostdin', '-hide_banner', '-v', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-fps_mode', 'cfr', '-r', String(fps),
    // Ingest servers want regular keyframes (every 2 s) and yuv420p.
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(fps * 2), '-pix_fmt', 'yuv420p',
    '-f', format, url,
  ];
}

export class PushOutput implements BroadcastSink {
  private readonly target: { url: string; format: 'flv' | 'mpegts' };
  private readonly pacer: FramePacer;
  private readonly encoder: LiveEncoder;
  private state: PushStatus['state'] = 'waiting';
  private framesSent = 0;
  private restarts = 0;
  private lastError: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(url: string, fps: number, private readonly log: Logger) {
    this.target = parsePushUrl(url);
    this.pacer = new FramePacer(fps, (frame) => this.send(frame.width, frame.height, frame.rgba));
    this.encoder = new LiveEncoder({
      argsFor: (width, height) => pushEncoderArgs(width, height, fps, this.target.url, this.target.format),
      onExit: (encoder, status) => this.failed(encoder.lastError() || `ffmpeg exited (${status.signal ?? status.code})`),
    });
  }

  pushFrame(width: number, height: number, rgba: Uint8Array): void {
    if (this.closed || this.retryTimer) return;
    this.pacer.push({ width, height, rgba });
  }

  status(): PushStatus {
    return { url: maskPushUrl(this.target.url), state: this.state, framesSent: this.framesSent, restarts: this.restarts, lastError: this.lastError };
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.state = 'closed';
      this.pacer.stop();
      if (this.retryTimer) clearTimeout(this.retryTimer);
    }
    await this.encoder.close();
  }

  private send(width: number, height: number, rgba: Uint8Array): void {
    // A connection slower than the stream has frames dropped by the encoder, never queued.
    if (this.encoder.write(width, height, rgba)) this.framesSent++;
    if (this.state === 'waiting') this.state = 'pushing';
  }

  /** The encoder ended by itself (a refused or dropped connection): retry after a backoff. */
  private failed(error: string): void {
    if (this.closed) return;
    this.lastError = error;
    const wait = retryDelayMs(this.restarts);
    this.restarts++;
    this.state = 'retrying';
    this.pacer.stop();
    this.log.warn(`push ${maskPushUrl(this.target.url)}: ${error.replaceAll(this.target.url, maskPushUrl(this.target.url))}; retrying in ${wait / 1000} s`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.state = 'waiting';
    }, wait);
  }
}
