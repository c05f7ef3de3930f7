/**
 * `serve --push URL`: the stylized stream sent out to an ingest server
 * (RTMP/RTMPS: Twitch, YouTube, a restreamer, an nginx-rtmp; SRT in caller
 * mode: OBS 30+ or another stylecast listening), encoded once at the stream's
 * declared rate. A failed or dropped connection is retried with backoff; the
 * server goes on either way.
 */
import { StylecastError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { FfmpegProcess, ffmpegBinary } from '../../media/ffmpeg/process.js';
import type { BroadcastSink } from '../sink.js';
import { FramePacer } from '../frame-pacer.js';

export interface PushStatus {
  readonly url: string;
  readonly state: 'waiting' | 'pushing' | 'retrying' | 'closed';
  readonly framesSent: number;
  readonly restarts: number;
  readonly lastError: string | null;
}

const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

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
  private encoder: FfmpegProcess | null = null;
  private size = '';
  private state: PushStatus['state'] = 'waiting';
  private framesSent = 0;
  private restarts = 0;
  private lastError: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly stopping = new Set<Promise<unknown>>();

  constructor(url: string, private readonly fps: number, private readonly log: Logger) {
    this.target = parsePushUrl(url);
    this.pacer = new FramePacer(fps, (frame) => this.send(frame.width, frame.height, frame.rgba));
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
      this.stopEncoder();
    }
    await Promise.all(this.stopping);
  }

  private send(width: number, height: number, rgba: Uint8Array): void {
    const size = `${width}x${height}`;
    if (this.encoder && size !== this.size) this.stopEncoder();
    if (!this.encoder) this.start(width, height);
    const stdin = this.encoder!.stdin;
    if (stdin.writableLength > rgba.length * 2) return; // the connection is slower than the stream: this frame is dropped
    stdin.write(rgba);
    this.framesSent++;
  }

  private start(width: number, height: number): void {
    this.size = `${width}x${height}`;
    const encoder = new FfmpegProcess(ffmpegBinary(), pushEncoderArgs(width, height, this.fps, this.target.url, this.target.format), { stdin: true });
    this.encoder = encoder;
    this.state = 'pushing';
    void encoder.exited.then((status) => {
      if (this.encoder !== encoder || this.closed) return;
      this.encoder = null;
      this.lastError = encoder.lastError() || `ffmpeg exited (${status.signal ?? status.code})`;
      const wait = RETRY_MS[Math.min(this.restarts, RETRY_MS.length - 1)]!;
      this.restarts++;
      this.state = 'retrying';
      this.pacer.stop();
      this.log.warn(`push ${maskPushUrl(this.target.url)}: ${this.lastError.replaceAll(this.target.url, maskPushUrl(this.target.url))}; retrying in ${wait / 1000} s`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.state = 'waiting';
      }, wait);
    });
  }

  private stopEncoder(): void {
    const encoder = this.encoder;
    this.encoder = null;
    if (encoder) {
      encoder.stdin.end();
      const exited = encoder.close(1000).finally(() => this.stopping.delete(exited));
      this.stopping.add(exited);
    }
  }
}
