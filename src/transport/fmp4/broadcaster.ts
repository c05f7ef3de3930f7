import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/log.js';
import type { BroadcastSink } from '../sink.js';
import type { FfmpegProcess } from '../../media/ffmpeg/process.js';
import { LiveEncoder } from '../live-encoder.js';
import { FramePacer } from '../frame-pacer.js';
import { Mp4Segmenter } from './mp4.js';
import { StreamRate, ViewerGate } from './viewer-gate.js';
const IDLE_STOP_MS = 3000;

/** Where one viewer's bytes go: a WebSocket or a chunked HTTP response. */
export interface Fmp4Sink {
  /** Bytes queued and not yet sent to the peer. */
  readonly buffered: number;
  readonly open: boolean;
  send(data: Buffer): void;
  close(): void;
  onGone(listener: () => void): void;
}

export function webSocketSink(ws: WebSocket): Fmp4Sink {
  return {
    get buffered() { return ws.bufferedAmount; },
    get open() { return ws.readyState === ws.OPEN; },
    send: (data) => ws.send(data, { binary: true }, () => undefined),
    close: () => ws.close(1001, 'server closing'),
    onGone: (listener) => {
      ws.once('close', listener);
      ws.once('error', listener);
    },
  };
}

/** `GET /live.mp4` over plain HTTP: the headers are sent here, then fragments as chunks. */
export function httpSink(res: ServerResponse): Fmp4Sink {
  res.writeHead(200, { 'Content-Type': 'video/mp4', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.flushHeaders();
  return {
    get buffered() { return res.writableLength; },
    get open() { return !res.destroyed && !res.writableEnded; },
    send: (data) => void res.write(data),
    close: () => res.end(),
    onGone: (listener) => {
      res.once('close', listener);
      res.once('error', listener);
    },
  };
}

interface Client {
  readonly sink: Fmp4Sink;
  sentInit: boolean;
  readonly gate: ViewerGate;
}

export function fmp4EncoderArgs(width: number, height: number, fps: number): string[] {
  return [
    '-nostdin', '-hide_banner', '-v', 'error',
    // A constant, declared rate: the broadcaster paces frames by the wall clock (repeating the
    // newest when the stylizer is slower), so a player that counts frames (OBS) never waits on one.
    '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-fps_mode', 'cfr', '-r', String(fps),
    // A keyframe every second of wall time (not every 30 frames: at 10 fps that would be 3 s), so a new
    // viewer (OBS, ffmpeg, a page) starts within a second.
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '600', '-force_key_frames', 'expr:gte(t,n_forced*1)', '-pix_fmt', 'yuv420p',
    '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '33333',
    '-f', 'mp4', 'pipe:1',
  ];
}

/**
 * The fMP4 stream: one ffmpeg H.264 encoder shared by every viewer that is
 * not on WebRTC (WebSocket for the page's Media Source fallback, plain HTTP
 * for OBS's Media Source, ffmpeg and players), started when the first one
 * arrives and stopped when the last leaves. New and lagging viewers get the
 * init segment and start at a keyframe; one that falls more than about a
 * second of the stream behind has fragments dropped until it catches up
 * (ViewerGate: bounded lag and memory).
 */
export class Fmp4Broadcaster implements BroadcastSink {
  private readonly clients = new Set<Client>();
  private readonly encoder: LiveEncoder;
  private segmenter = new Mp4Segmenter();
  private init: Buffer | null = null;
  private readonly rate = new StreamRate();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly pacer: FramePacer;
  /** `fps`: the stream's declared, constant frame rate (the source's). */
  constructor(private readonly log: Logger, fps = 30) {
    this.pacer = new FramePacer(fps, (frame) => this.encoder.write(frame.width, frame.height, frame.rgba));
    this.encoder = new LiveEncoder({
      argsFor: (width, height) => fmp4EncoderArgs(width, height, fps),
      stdout: true,
      onStart: (encoder) => this.started(encoder),
      onExit: (encoder, status) => this.log.warn(`websocket video encoder stopped (${status.signal ?? status.code}): ${encoder.lastError()}`),
    });
  }

  /** Frames sent again because no newer one was ready at their time (the stylizer is slower than the stream's rate). */
  get repeatedFrames(): number {
    return this.pacer.repeated;
  }

  get viewers(): number {
    return this.clients.size;
  }

  get droppedFragments(): number {
    let n = 0;
    for (const c of this.clients) n += c.gate.dropped;
    return n;
  }

  addClient(sink: Fmp4Sink): void {
    if (this.closed) {
      sink.close();
      return;
    }
    const client: Client = { sink, sentInit: false, gate: new ViewerGate() };
    this.clients.add(client);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.init) this.send(client, this.init, true);
    sink.onGone(() => this.removeClient(client));
  }

  /** The newest stylized frame; it leaves at the stream's declared rate (FramePacer). */
  pushFrame(width: number, height: number, rgba: Uint8Array): void {
    if (this.closed || this.clients.size === 0) return;
    this.pacer.push({ width, height, rgba });
  }

  /** Ends every viewer and resolves when the encoder's ffmpeg has exited. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.pacer.stop();
      this.init = null;
      for (const client of this.clients) client.sink.close();
      this.clients.clear();
    }
    await this.encoder.close();
  }

  private removeClient(client: Client): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0 && !this.closed) {
      this.pacer.stop();
      this.idleTimer = setTimeout(() => {
        this.init = null;
        this.encoder.stop();
      }, IDLE_STOP_MS);
    }
  }

  /** A new encoder (the first frame, or a new size): its stream starts with a new init segment. */
  private started(encoder: FfmpegProcess): void {
    this.segmenter = new Mp4Segmenter();
    this.init = null;
    this.rate.reset();
    for (const client of this.clients) {
      client.sentInit = false;
      client.gate.restart();
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
          this.rate.add(segment.data.length, performance.now());
          const highWatermark = this.rate.highWatermark();
          for (const client of this.clients) {
            if (client.sentInit && client.gate.admit(client.sink.buffered, segment.keyframe, highWatermark)) {
              this.send(client, segment.data, false);
            }
          }
        }
      }
    });
  }

  private send(client: Client, data: Buffer, isInit: boolean): void {
    if (!client.sink.open) return;
    client.sink.send(data);
    if (isInit) client.sentInit = true;
  }
}
