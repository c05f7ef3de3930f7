import type { EngineFactory } from '../models/engine.js';
import type { Subscription } from 'rxjs';
import type { FrameSize } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { Conditioning } from '../models/contract.js';
import type { Device } from '../models/providers.js';
import { LiveStylizer, type LiveInputFrame, type LiveStylizerStats } from '../pipeline/live.js';
import { resizeBicubic, resizeBilinear } from '../pipeline/resize.js';
import { FfmpegLiveSource, describeSource, type SourceSpec } from '../pipeline/sources.js';
import { RtcVideoOutput } from './webrtc/video.js';
import type { BroadcastSink } from './sink.js';

export interface BroadcastOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly threads: number;
  /** Frames stylized side by side on the CPU (0: auto). */
  readonly lanes?: number;
  readonly stabilize: boolean;
  /** See LiveStylizerOptions.keepColour. */
  readonly keepColour?: number;
  /** The fp16 variant to run on a GPU (StyleEngine's gpuVariant); absent: models run as given. */
  readonly gpuVariant?: (modelPath: string) => string | null;
  readonly source: SourceSpec;
  /** The size the model runs at (server-side sources are decoded at it; WHIP frames are scaled to it). */
  readonly size: FrameSize;
  /** The size the stream leaves at (`--size`); stylized frames are scaled up to it. */
  readonly outputSize: FrameSize;
  readonly fps: number;
  readonly log: Logger;
  /** See LiveStylizerOptions.openEngine. */
  readonly openEngine?: EngineFactory;
}

export interface BroadcastStats extends LiveStylizerStats {
  readonly source: string;
  /** The size the model runs at now (it follows the style: each style's model scale). */
  readonly modelSize: string;
}

/**
 * The shared stylized stream: one source (server-side ffmpeg, or a WHIP
 * publisher while one is connected), stylized once, enlarged to the stream's
 * size and fed to every sink (sink.ts: WebRTC, fMP4, pushes), plus an input
 * preview for the page.
 */
export class Broadcast {
  readonly preview = new RtcVideoOutput();
  private source: FfmpegLiveSource | null = null;
  private ingestId: string | null = null;
  /** A server-side source told to stop for a WHIP publisher (close() waits for its ffmpeg). */
  private sourceStopping: Promise<void> = Promise.resolve();
  private readonly subscription: Subscription;
  private closed = false;
  private readonly sinks = new Set<BroadcastSink>();
  /** The size frames reach the model at: the current style's model size. */
  private size: FrameSize;

  private constructor(private readonly stylizer: LiveStylizer, private readonly options: BroadcastOptions) {
    this.size = options.size;
    this.subscription = stylizer.frames$.subscribe((frame) => {
      const { width, height } = options.outputSize;
      let rgba = frame.rgba;
      if (frame.width !== width || frame.height !== height) {
        // A new buffer each frame: a sink may keep it (the fMP4 encoder's stdin may still hold the previous one).
        // Enlarged bicubically, the model contract's rule (what the trainer measures).
        rgba = new Uint8Array(width * height * 4);
        resizeBicubic(frame.rgba, frame.width, frame.height, rgba, width, height, 4);
      }
      for (const sink of this.sinks) sink.pushFrame(width, height, rgba);
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

  /** See LiveStylizer.setKeepColour. */
  setKeepColour(keepColour: number): void {
    this.stylizer.setKeepColour(keepColour);
  }

  get keepColour(): number {
    return this.stylizer.keepColour;
  }

  get modelPath(): string {
    return this.stylizer.modelPath;
  }

  /** Outputs fed every frame until removed; closed with the broadcast. */
  addSink(sink: BroadcastSink): void {
    if (this.closed) void sink.close();
    else this.sinks.add(sink);
  }

  removeSink(sink: BroadcastSink): void {
    this.sinks.delete(sink);
  }

  /** A WHIP publisher takes over as the source until it leaves. Returns false if one already publishes. */
  attachIngest(id: string): boolean {
    if (this.ingestId) return false;
    this.ingestId = id;
    const previous = this.source;
    this.source = null;
    if (previous) this.sourceStopping = this.sourceStopping.then(() => previous.close());
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
    const { width, height } = this.size;
    if (frame.width === width && frame.height === height) return this.stylizer.push(frame);
    // A publisher may send 1080p, or a size made for another style: the model runs at its own size, like a server-side source.
    const data = new Uint8Array(width * height * 4);
    resizeBilinear(frame.data, frame.width, frame.height, data, width, height, 4);
    this.stylizer.push({ width, height, channels: 4, data, receivedAt: frame.receivedAt });
  }

  /**
   * Switches the model; `size` is the new model's size for this stream (styles differ in
   * model scale), and a server-side source is restarted to decode at it.
   */
  async setModel(modelPath: string, conditioning: Conditioning | null = null, size: FrameSize = this.size): Promise<void> {
    await this.stylizer.setModel(modelPath, conditioning);
    if (this.closed || (size.width === this.size.width && size.height === this.size.height)) return;
    this.size = size;
    const previous = this.source;
    if (!previous) return; // WHIP frames are scaled to this.size as they come
    this.source = null;
    this.sourceStopping = this.sourceStopping.then(() => previous.close());
    this.startServerSource();
  }

  stats(): BroadcastStats {
    return {
      ...this.stylizer.snapshot(),
      source: this.sourceName,
      modelSize: `${this.size.width}x${this.size.height}`,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.source?.close(), this.sourceStopping]);
    this.subscription.unsubscribe();
    await Promise.all([...this.sinks].map((sink) => sink.close()));
    this.sinks.clear();
    this.preview.close();
    await this.stylizer.close();
  }

  private startServerSource(): void {
    const spec = this.options.source;
    if (this.closed || spec.kind === 'browser') return;
    this.source = new FfmpegLiveSource(spec, this.size, this.options.fps, (frame) => {
      this.preview.pushRgba(frame.width, frame.height, frame.data);
      this.stylizer.push(frame);
    }, this.options.log);
    this.source.start();
  }
}

/** Failed frames can come 30 times a second: log the first of each burst and then one line per 5 s; restarts always. */
function throttledLog(log: Logger): (message: string, kind: 'frame' | 'restart') => void {
  let last = -Infinity;
  let suppressed = 0;
  return (message, kind) => {
    const now = Date.now();
    if (kind === 'restart' || now - last >= 5000) {
      log.warn(`broadcast: ${message}${suppressed ? ` (and ${suppressed} more since the last report)` : ''}`);
      last = now;
      suppressed = 0;
    } else suppressed++;
  };
}
