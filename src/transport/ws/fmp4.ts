import type { WebSocket } from 'ws';
import type { Logger } from '../../core/log.js';
import { FfmpegProcess, ffmpegBinary } from '../../media/ffmpeg/process.js';
import { Mp4Segmenter } from './mp4.js';

/** Per-socket watermarks: above HIGH a client's fragments are dropped until it drains below LOW and a keyframe comes. */
export const HIGH_WATERMARK = 1 << 20;
export const LOW_WATERMARK = 256 << 10;
const IDLE_STOP_MS = 3000;

interface Client {
  readonly ws: WebSocket;
  sentInit: boolean;
  waitingForKeyframe: boolean;
  dropped: number;
}

export function fmp4EncoderArgs(width: number, height: number): string[] {
  return [
    '-nostdin', '-hide_banner', '-v', 'error',
    // Wall-clock timestamps: live frames arrive at the stylizer's pace, not a fixed rate.
    '-use_wallclock_as_timestamps', '1',
    '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-fps_mode', 'passthrough',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
    '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '33333',
    '-f', 'mp4', 'pipe:1',
  ];
}

/**
 * The WebSocket fallback: one ffmpeg H.264 fMP4 encoder shared by every
 * WebSocket viewer, started when the first one arrives and stopped when the
 * last leaves. New and lagging viewers get the init segment and start at a
 * keyframe; a slow socket has fragments dropped (never unbounded memory).
 */
export class Fmp4Broadcaster {
  private readonly clients = new Set<Client>();
  private encoder: FfmpegProcess | null = null;
  private encoderSize = '';
  private segmenter = new Mp4Segmenter();
  private init: Buffer | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private droppedInput = 0;
  private closed = false;

  constructor(private readonly log: Logger) {}

  get viewers(): number {
    return this.clients.size;
  }

  get droppedFragments(): number {
    let n = 0;
    for (const c of this.clients) n += c.dropped;
    return n;
  }

  addClient(ws: WebSocket): void {
    if (this.closed) {
      ws.close(1001, 'server closing');
      return;
    }
    const client: Client = { ws, sentInit: false, waitingForKeyframe: true, dropped: 0 };
    this.clients.add(client);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.init) this.send(client, this.init, true);
    const remove = () => this.removeClient(client);
    ws.once('close', remove);
    ws.once('error', remove);
  }

  pushFrame(width: number, height: number, rgba: Uint8Array): void {
    if (this.closed || this.clients.size === 0) return;
    const size = `${width}x${height}`;
    if (this.encoder && size !== this.encoderSize) this.stopEncoder();
    if (!this.encoder) this.startEncoder(width, height);
    const stdin = this.encoder!.stdin;
    // Live: if ffmpeg has not taken the last frames, this one is dropped.
    if (stdin.writableLength > rgba.length * 2) {
      this.droppedInput++;
      return;
    }
    stdin.write(rgba);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.stopEncoder();
    for (const client of this.clients) client.ws.close(1001, 'server closing');
    this.clients.clear();
  }

  private removeClient(client: Client): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0 && !this.closed) {
      this.idleTimer = setTimeout(() => this.stopEncoder(), IDLE_STOP_MS);
    }
  }

  private startEncoder(width: number, height: number): void {
    this.encoderSize = `${width}x${height}`;
    this.segmenter = new Mp4Segmenter();
    this.init = null;
    const encoder = new FfmpegProcess(ffmpegBinary(), fmp4EncoderArgs(width, height), { stdin: true, stdout: true });
    this.encoder = encoder;
    for (const client of this.clients) {
      client.sentInit = false;
      client.waitingForKeyframe = true;
    }
    encoder.stdout.on('data', (chunk: Buffer) => {
      let segments;
      try {
        segments = this.segmenter.push(chunk);
      } catch (error) {
        this.log.warn(`websocket video: ${(error as Error).message}`);
        return;
      }
      for (const segment of segments) {
        if (segment.kind === 'init') {
          this.init = segment.data;
          for (const client of this.clients) if (!client.sentInit) this.send(client, segment.data, true);
        } else {
          for (const client of this.clients) this.sendFragment(client, segment.data, segment.keyframe);
        }
      }
    });
    void encoder.exited.then((status) => {
      if (this.encoder === encoder && !this.closed) {
        this.log.warn(`websocket video encoder stopped (${status.signal ?? status.code}): ${encoder.lastError()}`);
        this.encoder = null;
      }
    });
  }

  private stopEncoder(): void {
    const encoder = this.encoder;
    this.encoder = null;
    this.init = null;
    if (encoder) {
      encoder.stdin.end();
      void encoder.close(1000);
    }
  }

  private sendFragment(client: Client, data: Buffer, keyframe: boolean): void {
    if (!client.sentInit) return;
    const buffered = client.ws.bufferedAmount;
    if (client.waitingForKeyframe) {
      if (!keyframe || buffered > LOW_WATERMARK) {
        client.dropped++;
        return;
      }
      client.waitingForKeyframe = false;
    } else if (buffered > HIGH_WATERMARK) {
      client.dropped++;
      client.waitingForKeyframe = true;
      return;
    }
    this.send(client, data, false);
  }

  private send(client: Client, data: Buffer, isInit: boolean): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(data, { binary: true }, () => undefined);
    if (isInit) client.sentInit = true;
  }
}
