import { performance } from 'node:perf_hooks';
import { Subject, Subscription, map, type Observable } from 'rxjs';
import { StylecastError } from '../core/errors.js';
import { StyleEngine } from '../models/engine.js';
import type { Device, ExecutionProvider } from '../models/providers.js';
import { CoherenceCheck } from './coherence.js';
import { latestMap } from './latest.js';
import { LiveStats, type LiveStatsSnapshot } from './live-stats.js';
import { TensorPool } from './flow-control.js';
import { rgbToTensor, tensorSizeFor, tensorToRgb } from './tensor.js';

/** A frame from any live source: packed RGB (3) or RGBA (4). */
export interface LiveInputFrame {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
  /** performance.now() when it arrived. */
  readonly receivedAt: number;
}

/** A stylized frame, RGBA (what WebRTC's converters and the WS encoder take). */
export interface LiveOutputFrame {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
  readonly receivedAt: number;
  readonly inferenceMs: number;
  readonly flicker: number | null;
}

export interface LiveStylizerOptions {
  readonly modelPath: string;
  readonly device: Device;
  readonly threads?: number;
  readonly stabilize?: boolean;
}

export interface LiveStylizerStats extends LiveStatsSnapshot {
  readonly provider: ExecutionProvider;
  readonly model: string;
}

/**
 * The live path: frames are pushed as they arrive; while the model is busy
 * only the newest waits and the rest are dropped (and counted). Output frames
 * go to `frames$` for every sink (WebRTC tracks, the WebSocket encoder).
 */
export class LiveStylizer {
  private readonly input = new Subject<LiveInputFrame>();
  private readonly output = new Subject<LiveOutputFrame>();
  private readonly stats = new LiveStats();
  private readonly subscription: Subscription;
  private pool: TensorPool | null = null;
  private check: CoherenceCheck | null = null;
  private frameKey = '';
  private closed = false;

  private constructor(private readonly engine: StyleEngine, private readonly options: LiveStylizerOptions) {
    this.subscription = this.input
      .pipe(
        latestMap((frame) => this.stylize(frame), () => this.stats.frameDropped()),
        map((frame) => {
          this.stats.frameOut(performance.now(), performance.now() - frame.receivedAt, frame.inferenceMs, frame.flicker);
          return frame;
        }),
      )
      .subscribe({
        next: (frame) => this.output.next(frame),
        error: (error: unknown) => {
          if (!this.closed) this.output.error(error);
        },
      });
  }

  static async open(options: LiveStylizerOptions): Promise<LiveStylizer> {
    const engine = await StyleEngine.open({ modelPath: options.modelPath, device: options.device, threads: options.threads ?? 0 });
    return new LiveStylizer(engine, options);
  }

  get frames$(): Observable<LiveOutputFrame> {
    return this.output.asObservable();
  }

  get provider(): ExecutionProvider {
    return this.engine.provider;
  }

  get modelPath(): string {
    return this.engine.modelPath;
  }

  push(frame: LiveInputFrame): void {
    if (this.closed) return;
    this.stats.frameIn(performance.now());
    this.input.next(frame);
  }

  /** Switches the model between frames; viewers stay connected. */
  async setModel(modelPath: string): Promise<void> {
    if (this.closed) throw StylecastError.closed('live stylizer');
    await this.engine.loadModel(modelPath);
    this.check?.reset();
  }

  snapshot(): LiveStylizerStats {
    return { ...this.stats.snapshot(performance.now()), provider: this.engine.provider, model: this.engine.modelPath };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscription.unsubscribe();
    this.input.complete();
    this.output.complete();
    await this.engine.close();
  }

  private async stylize(frame: LiveInputFrame): Promise<LiveOutputFrame> {
    const { width, height } = frame;
    const { tensorWidth, tensorHeight } = tensorSizeFor(frame);
    const key = `${width}x${height}`;
    if (key !== this.frameKey) {
      this.frameKey = key;
      this.pool = new TensorPool(tensorWidth * tensorHeight * 3, 4);
      this.check = new CoherenceCheck({ width, height, tensorWidth, tensorHeight, stabilizeStrength: this.options.stabilize ? 0.7 : 0 });
    }
    const pool = this.pool!;
    const input = pool.acquire();
    rgbToTensor(frame.data, width, height, input, tensorWidth, tensorHeight, frame.channels);
    const result = await this.engine.run(input, pool.acquire(), tensorHeight, tensorWidth);
    const flicker = this.check!.process(result.input, result.output);
    const rgba = new Uint8Array(width * height * 4);
    tensorToRgb(result.output, tensorWidth, tensorHeight, width, height, rgba, 4);
    pool.release(result.input);
    pool.release(result.output);
    return { width, height, rgba, receivedAt: frame.receivedAt, inferenceMs: result.ms, flicker };
  }
}
