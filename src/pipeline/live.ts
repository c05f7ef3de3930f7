import { performance } from 'node:perf_hooks';
import { Subject, Subscription, filter, map, type Observable } from 'rxjs';
import { StylecastError, describeError } from '../core/errors.js';
import type { Conditioning } from '../models/contract.js';
import { InferenceRunError, StyleEngine, type EngineFactory } from '../models/engine.js';
import type { Device, ExecutionProvider } from '../models/providers.js';
import type { StylizedFrame } from '../core/frame.js';
import { FrameStylizer } from './frame-stylizer.js';
import { latestMap } from './latest.js';
import { LiveStats, type LiveStatsSnapshot } from './live-stats.js';

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
  /** ONNX Runtime's whole thread budget (0: one per core). */
  readonly threads?: number;
  /** Frames stylized side by side on the CPU, one session each (0: auto; see planLanes). */
  readonly lanes?: number;
  readonly stabilize?: boolean;
  /** How much of the frames' own colour to keep under the painting's strokes (0-1; default 0). */
  readonly keepColour?: number;
  /** The fp16 variant to run on a GPU (StyleEngine's gpuVariant); absent: models run as given. */
  readonly gpuVariant?: (modelPath: string) => string | null;
  /** Consecutive failed frames after which the inference worker is restarted (default 30). */
  readonly restartAfterFailures?: number;
  /** Told once per failed frame ('frame', frequent) and per worker restart ('restart', rare). */
  readonly onFault?: (message: string, kind: 'frame' | 'restart') => void;
  /** Opens the engine (default StyleEngine.open), also for a restart after repeated failures. */
  readonly openEngine?: EngineFactory;
}

export interface LiveStylizerStats extends LiveStatsSnapshot {
  readonly provider: ExecutionProvider;
  readonly model: string;
  /** Frames whose inference failed (dropped; the stream went on). */
  readonly failed: number;
  /** Times the inference worker was restarted after consecutive failures. */
  readonly restarts: number;
  /** How much of the frames' own colour is kept (0-1). */
  readonly keepColour: number;
}

const DEFAULT_RESTART_AFTER_FAILURES = 30;

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
  private readonly core: FrameStylizer;
  private failed = 0;
  private consecutiveFailures = 0;
  private restarts = 0;
  private runs = 0;
  private closed = false;
  private restarting: Promise<void> | null = null;

  private constructor(private engine: StyleEngine, private readonly options: LiveStylizerOptions) {
    this.core = new FrameStylizer(engine, { stabilize: options.stabilize ?? false, outputChannels: 4 });
    this.core.setKeepColour(options.keepColour ?? 0);
    // infer() and finish() never throw (a failed frame becomes null), so nothing can error the stream.
    // Frames run side by side, one per lane; they come out of latestMap in arrival order for the coherence check.
    this.subscription = this.input
      .pipe(
        latestMap((frame) => this.infer(frame), () => this.stats.frameDropped(), engine.laneCount),
        map((frame) => (frame === null ? null : this.finish(frame))),
        filter((frame): frame is LiveOutputFrame => frame !== null),
        map((frame) => {
          this.stats.frameOut(performance.now(), performance.now() - frame.receivedAt, frame.inferenceMs, frame.flicker);
          return frame;
        }),
      )
      .subscribe((frame) => this.output.next(frame));
  }

  static async open(options: LiveStylizerOptions): Promise<LiveStylizer> {
    return new LiveStylizer(await LiveStylizer.openEngine(options, options.modelPath), options);
  }

  private static openEngine(options: LiveStylizerOptions, modelPath: string): Promise<StyleEngine> {
    return (options.openEngine ?? StyleEngine.open)({
      modelPath, device: options.device, threads: options.threads ?? 0, lanes: options.lanes ?? 0,
      ...(options.gpuVariant ? { gpuVariant: options.gpuVariant } : {}),
    });
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

  /**
   * Switches the model between frames (viewers stay connected) and, for an
   * any-painting model, sets its painting: a new painting, blend or strength
   * on the same model costs nothing per frame (no reload).
   */
  /** How much of the frames' own colour to keep (0-1): the next frame shows it, no model reload. */
  setKeepColour(keepColour: number): void {
    this.core.setKeepColour(keepColour);
  }

  get keepColour(): number {
    return this.core.colourKept;
  }

  async setModel(modelPath: string, conditioning: Conditioning | null = null): Promise<void> {
    if (this.closed) throw StylecastError.closed('live stylizer');
    if (modelPath !== this.engine.modelPath) {
      await this.engine.loadModel(modelPath);
      this.core.resetCoherence();
    }
    this.core.setConditioning(conditioning);
  }

  snapshot(): LiveStylizerStats {
    return {
      ...this.stats.snapshot(performance.now()),
      provider: this.engine.provider, model: this.engine.modelPath, failed: this.failed, restarts: this.restarts, keepColour: this.core.colourKept,
    };
  }

  /** Resolves when the inference worker has ended. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscription.unsubscribe();
    this.input.complete();
    this.output.complete();
    await this.engine.close();
  }

  private async infer(frame: LiveInputFrame): Promise<StylizedFrame | null> {
    const engine = this.engine;
    try {
      const stylized = await this.core.infer(this.core.prepare({ ...frame, index: this.runs++ }));
      this.consecutiveFailures = 0;
      return stylized;
    } catch (error) {
      // Frames still in flight on a worker that was replaced end with it: dropped, not a new fault.
      if (this.closed || engine !== this.engine) return null;
      this.failed++;
      this.consecutiveFailures++;
      this.options.onFault?.(`frame dropped, inference failed: ${describeError(error)}`, 'frame');
      // A worker that died answers every run with the same error: restart it at once.
      const workerGone = !(error instanceof InferenceRunError);
      if (workerGone || this.consecutiveFailures >= (this.options.restartAfterFailures ?? DEFAULT_RESTART_AFTER_FAILURES)) await this.restart();
      return null;
    }
  }

  /** Coherence check and RGBA, in frame order. */
  private finish(stylized: StylizedFrame): LiveOutputFrame | null {
    try {
      const out = this.core.finish(stylized);
      return { width: out.width, height: out.height, rgba: out.data, receivedAt: out.receivedAt, inferenceMs: out.inferenceMs, flicker: out.flicker };
    } catch (error) {
      this.failed++;
      this.options.onFault?.(`frame dropped: ${describeError(error)}`, 'frame');
      return null;
    }
  }

  /** One restart at a time: frames failing together share it. */
  private restart(): Promise<void> {
    this.restarting ??= this.replaceEngine().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  private async replaceEngine(): Promise<void> {
    const modelPath = this.engine.modelPath || this.options.modelPath;
    const old = this.engine;
    try {
      const fresh = await LiveStylizer.openEngine(this.options, modelPath);
      if (this.closed) return void (await fresh.close());
      this.engine = fresh;
      this.core.setEngine(fresh);
      this.restarts++;
      this.consecutiveFailures = 0;
      this.options.onFault?.(`inference worker restarted (${modelPath})`, 'restart');
      await old.close();
    } catch (error) {
      this.options.onFault?.(`inference worker restart failed: ${describeError(error)}`, 'restart');
    }
  }
}
