import type { PreparedFrame, StylizedFrame } from '../core/frame.js';
import type { Conditioning } from '../models/contract.js';
import { InferenceRunError, type StyleEngine } from '../models/engine.js';
import { CoherenceCheck, DEFAULT_STABILIZE_STRENGTH } from './coherence.js';
import { FramePool } from './flow-control.js';

/** A frame going in: packed RGB (3) or RGBA (4). */
export interface PixelFrame {
  readonly index: number;
  readonly width: number;
  readonly height: number;
  readonly channels?: 3 | 4;
  readonly data: Uint8Array;
  readonly receivedAt: number;
}

/** A frame coming out, in the channel layout the caller asked for. */
export interface StylizedPixels {
  readonly index: number;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  readonly receivedAt: number;
  readonly inferenceMs: number;
  readonly flicker: number | null;
}

export interface FrameStylizerOptions {
  readonly stabilize: boolean;
  /** What finish() gives: RGB (files, encoders) or RGBA with opaque alpha (live sinks). */
  readonly outputChannels: 3 | 4;
  /** Used when `stabilize` is on; default DEFAULT_STABILIZE_STRENGTH. */
  readonly stabilizeStrength?: number;
  /** Input frame buffers kept for reuse. */
  readonly poolSize?: number;
}

/**
 * The one stylization core, shared by the file path and the live path:
 * pixels -> model (worker; 8-bit pixels cross the thread, converted inside the
 * graph) -> coherence check (and stabilization) -> pixels. Its three steps are
 * separate so the file pipeline can overlap them; `stylize` runs all three for
 * one frame. Buffers and the coherence state follow the frame size, which may
 * change between frames (live).
 */
export class FrameStylizer {
  private pool: FramePool | null = null;
  private check: CoherenceCheck | null = null;
  private sizeKey = '';
  private peak = 0;
  private conditioning: Conditioning | null = null;
  private keepColour = 0;

  constructor(private engine: StyleEngine, private readonly options: FrameStylizerOptions) {}

  /** Swaps the engine (a restarted worker); the coherence state starts over. */
  setEngine(engine: StyleEngine): void {
    this.engine = engine;
    this.check?.reset();
  }

  /** The painting (style vector and strength) for an arbitrary-style model; null for a one-style model. */
  setConditioning(conditioning: Conditioning | null): void {
    this.conditioning = conditioning;
  }

  /** How much of the frame's own colour the stylized frame keeps (0: the painting's colours, 1: the frame's). */
  setKeepColour(keepColour: number): void {
    if (!(keepColour >= 0 && keepColour <= 1)) throw new RangeError(`keepColour must be from 0 to 1, got ${keepColour}`);
    this.keepColour = keepColour;
  }

  get colourKept(): number {
    return this.keepColour;
  }

  /** A new style: the previous output is no reference for the next one. */
  resetCoherence(): void {
    this.check?.reset();
  }

  get meanFlicker(): number | null {
    return this.check?.meanFlicker ?? null;
  }

  /** The most input buffers that existed at once (bounded memory check). */
  get peakFrameBuffers(): number {
    return Math.max(this.peak, this.pool?.allocated ?? 0);
  }

  /** The frame copied into a pooled buffer of its own, which travels to the worker and back. */
  prepare(frame: PixelFrame): PreparedFrame {
    const channels = frame.channels ?? 3;
    const { pool } = this.stateFor(frame, channels);
    const length = frame.width * frame.height * channels;
    if (frame.data.length < length) throw new RangeError(`frame buffer too small: ${frame.data.length} < ${length}`);
    const data = pool.acquire();
    data.set(frame.data.subarray(0, length));
    return { index: frame.index, width: frame.width, height: frame.height, receivedAt: frame.receivedAt, channels, data };
  }

  /** Runs the model; on failure the input buffer goes back to the pool before the error is rethrown. */
  async infer(frame: PreparedFrame): Promise<StylizedFrame> {
    const pool = this.stateFor(frame, frame.channels).pool;
    const outputChannels = this.options.outputChannels;
    const output = new Uint8Array(frame.width * frame.height * outputChannels);
    try {
      const { width, height } = frame;
      const result = await this.engine.run({ width, height, input: frame.data, inputChannels: frame.channels, output, outputChannels, keepColour: this.keepColour }, this.conditioning);
      return {
        index: frame.index, width, height, receivedAt: frame.receivedAt,
        input: result.input, inputChannels: frame.channels, output: result.output, outputChannels, inferenceMs: result.ms,
      };
    } catch (error) {
      if (error instanceof InferenceRunError && error.input) pool.release(error.input);
      throw error;
    }
  }

  /** Coherence check (stabilizing in place when on); the input buffer returns to the pool, the output is the caller's. */
  finish(frame: StylizedFrame): StylizedPixels {
    const { pool, check } = this.stateFor(frame, frame.inputChannels);
    const flicker = check.process(frame.input, frame.output);
    pool.release(frame.input);
    return {
      index: frame.index, width: frame.width, height: frame.height, data: frame.output,
      receivedAt: frame.receivedAt, inferenceMs: frame.inferenceMs, flicker,
    };
  }

  async stylize(frame: PixelFrame): Promise<StylizedPixels> {
    return this.finish(await this.infer(this.prepare(frame)));
  }

  private stateFor(frame: { width: number; height: number }, inputChannels: 3 | 4): { pool: FramePool; check: CoherenceCheck } {
    const key = `${frame.width}x${frame.height}x${inputChannels}`;
    if (key !== this.sizeKey || !this.pool || !this.check) {
      this.peak = Math.max(this.peak, this.pool?.allocated ?? 0);
      this.sizeKey = key;
      this.pool = new FramePool(frame.width * frame.height * inputChannels, this.options.poolSize ?? 4);
      this.check = new CoherenceCheck({
        width: frame.width, height: frame.height, inputChannels, outputChannels: this.options.outputChannels,
        stabilizeStrength: this.options.stabilize ? (this.options.stabilizeStrength ?? DEFAULT_STABILIZE_STRENGTH) : 0,
      });
    }
    return { pool: this.pool, check: this.check };
  }
}
