import type { StylizedFrame, TensorFrame } from '../core/frame.js';
import type { Conditioning } from '../models/contract.js';
import { InferenceRunError, type StyleEngine } from '../models/engine.js';
import { CoherenceCheck, DEFAULT_STABILIZE_STRENGTH } from './coherence.js';
import { TensorPool } from './flow-control.js';
import { rgbToTensor, tensorSizeFor, tensorToRgb } from './tensor.js';

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
  /** Used when `stabilize` is on; default DEFAULT_STABILIZE_STRENGTH. */
  readonly stabilizeStrength?: number;
  /** Tensor buffers kept for reuse. */
  readonly poolSize?: number;
}

/**
 * The one stylization core, shared by the file path and the live path:
 * pixels -> tensor -> model (worker) -> coherence check (and stabilization)
 * -> pixels. Its three steps are separate so the file pipeline can overlap
 * them; `stylize` runs all three for one frame. Buffers and the coherence
 * state follow the frame size, which may change between frames (live).
 */
export class FrameStylizer {
  private pool: TensorPool | null = null;
  private check: CoherenceCheck | null = null;
  private sizeKey = '';
  private peak = 0;
  private conditioning: Conditioning | null = null;

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

  /** A new style: the previous output is no reference for the next one. */
  resetCoherence(): void {
    this.check?.reset();
  }

  get meanFlicker(): number | null {
    return this.check?.meanFlicker ?? null;
  }

  /** The most tensor buffers that existed at once (bounded memory check). */
  get peakTensorBuffers(): number {
    return Math.max(this.peak, this.pool?.allocated ?? 0);
  }

  toTensor(frame: PixelFrame): TensorFrame {
    const { pool } = this.stateFor(frame);
    const { tensorWidth, tensorHeight } = tensorSizeFor(frame);
    const data = pool.acquire();
    rgbToTensor(frame.data, frame.width, frame.height, data, tensorWidth, tensorHeight, frame.channels ?? 3);
    return { index: frame.index, width: frame.width, height: frame.height, receivedAt: frame.receivedAt, tensorWidth, tensorHeight, data };
  }

  /** Runs the model; on failure the buffers go back to the pool before the error is rethrown. */
  async infer(frame: TensorFrame): Promise<StylizedFrame> {
    const pool = this.stateFor(frame).pool;
    try {
      const result = await this.engine.run(frame.data, pool.acquire(), frame.tensorHeight, frame.tensorWidth, this.conditioning);
      return {
        index: frame.index, width: frame.width, height: frame.height, receivedAt: frame.receivedAt,
        tensorWidth: frame.tensorWidth, tensorHeight: frame.tensorHeight, input: result.input, output: result.output, inferenceMs: result.ms,
      };
    } catch (error) {
      if (error instanceof InferenceRunError) {
        if (error.input) pool.release(error.input);
        if (error.output) pool.release(error.output);
      }
      throw error;
    }
  }

  /** Coherence check (stabilizing in place when on), then back to pixels; the tensors return to the pool. */
  finish(frame: StylizedFrame, channels: 3 | 4): StylizedPixels {
    const { pool, check } = this.stateFor(frame);
    const flicker = check.process(frame.input, frame.output);
    const data = new Uint8Array(frame.width * frame.height * channels);
    tensorToRgb(frame.output, frame.tensorWidth, frame.tensorHeight, frame.width, frame.height, data, channels);
    pool.release(frame.input);
    pool.release(frame.output);
    return { index: frame.index, width: frame.width, height: frame.height, data, receivedAt: frame.receivedAt, inferenceMs: frame.inferenceMs, flicker };
  }

  async stylize(frame: PixelFrame, channels: 3 | 4): Promise<StylizedPixels> {
    return this.finish(await this.infer(this.toTensor(frame)), channels);
  }

  private stateFor(frame: { width: number; height: number }): { pool: TensorPool; check: CoherenceCheck } {
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.sizeKey || !this.pool || !this.check) {
      this.peak = Math.max(this.peak, this.pool?.allocated ?? 0);
      const { tensorWidth, tensorHeight } = tensorSizeFor(frame);
      this.sizeKey = key;
      this.pool = new TensorPool(tensorWidth * tensorHeight * 3, this.options.poolSize ?? 4);
      this.check = new CoherenceCheck({
        width: frame.width, height: frame.height, tensorWidth, tensorHeight,
        stabilizeStrength: this.options.stabilize ? (this.options.stabilizeStrength ?? DEFAULT_STABILIZE_STRENGTH) : 0,
      });
    }
    return { pool: this.pool, check: this.check };
  }
}
