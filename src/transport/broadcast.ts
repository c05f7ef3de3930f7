import type { Subscription } from 'rxjs';
import type { FrameSize } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { Device } from '../models/providers.js';
import { LiveStylizer, type LiveInputFrame, type LiveStylizerStats } from '../pipeline/live.js';
import { FfmpegLiveSource, describeSource, type SourceSpec } from '../pipeline/sources.js';
import { RtcVideoOutput } from './webrtc/video.js';
import { Fmp4Broadcaster } from './ws/fmp4.js';

export interface BroadcastOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly threads: number;
  readonly stabilize: boolean;
  readonly source: SourceSpec;
  readonly size: FrameSize;
  readonly fps: number;
  readonly log: Logger;
  /** TESTS ONLY: see LiveStylizerOptions.failEvery. */
  readonly failEvery?: number;
}

export interface BroadcastStats extends LiveStylizerStats {
  readonly source: string;
  readonly webrtcViewers: number;
  readonly websocketViewers: number;
  readonly websocketDroppedFragments: number;
}

/**
 * The shared stylized stream: one source (server-side ffmpeg, or a WHIP
 * publisher while one is connected), stylized once, fanned out to every
 * WebRTC viewer (one track each), the WebSocket fMP4 viewers, and an input
 * preview for the page.
 */
export class Broadcast {
  readonly output = new RtcVideoOutput();
  readonly preview = new RtcVideoOutput();
  readonly websocket: Fmp4Broadcaster;
  private source: FfmpegLiveSource | null = null;
  private ingestId: string | null = null;
  private readonly subscription: Subscription;
  private closed = false;

  private constructor(private readonly stylizer: LiveStylizer, private readonly options: BroadcastOptions) {
    this.websocket = new Fmp4Broadcaster(options.log);
    this.subscription = stylizer.frames$.subscribe((frame) => {
      this.output.pushRgba(frame.width, frame.height, frame.rgba);
      this.websocket.pushFrame(frame.width, frame.height, frame.rgba);
    });
    this.startServerSource();
  }

  static async open(options: BroadcastOptions): Promise<Broadcast> {
    const stylizer = await LiveStylizer.open({ ...options, onFault: throttledLog(options.log) });
    return new Broadcast(stylizer, options);
  }

  get sourceName(): string {
    return this.ingestId ? 'whip' : describeSource(this.options.source);
  }

  get modelPath(): string {
    return this.stylizer.modelPath;
  }

  /** A WHIP publisher takes over as the source until it leaves. Returns false if one already publishes. */
  attachIngest(id: string): boolean {
    if (this.ingestId) return false;
    this.ingestId = id;
    void this.source?.close();
    this.source = null;
    return true;
  }

  detachIngest(id: string): void {
    if (this.ingestId !== id) return;
    this.ingestId = null;
    this.startServerSource();
  }

  pushIngest(id: string, frame: LiveInputFrame, i420: Uint8Array): void {
    if (this.ingestId !== id) return;
    this.preview.pushI420(frame.width, frame.height, i420);
    this.stylizer.push(frame);
  }

  setModel(modelPath: string): Promise<void> {
    return this.stylizer.setModel(modelPath);
  }

  stats(): BroadcastStats {
    return {
      ...this.stylizer.snapshot(),
      source: this.sourceName,
      webrtcViewers: this.output.trackCount,
      websocketViewers: this.websocket.viewers,
      websocketDroppedFragments: this.websocket.droppedFragments,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source?.close();
    this.subscription.unsubscribe();
    this.websocket.close();
    this.output.close();
    this.preview.close();
    await this.stylizer.close();
  }

  private startServerSource(): void {
    const spec = this.options.source;
    if (this.closed || spec.kind === 'browser') return;
    this.source = new FfmpegLiveSource(spec, this.options.size, this.options.fps, (frame) => {
      this.preview.pushRgba(frame.width, frame.height, frame.data);
      this.stylizer.push(frame);
    }, this.options.log);
    this.source.start();
  }
}

/** Failed frames can come 30 times a second: log the first of each burst and then one line per 5 s. */
function throttledLog(log: Logger): (message: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (message) => {
    const now = Date.now();
    if (message.includes('restart') || now - last >= 5000) {
      log.warn(`broadcast: ${message}${suppressed ? ` (and ${suppressed} more since the last report)` : ''}`);
      last = now;
      suppressed = 0;
    } else suppressed++;
  };
}
