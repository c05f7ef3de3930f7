/**
 * Temporal-coherence check (flicker score) and optional stabilization.
 *
 * Flicker score of frame t (docs/flicker.md):
 *   S_t = { p : |Y_in,t(p) - Y_in,t-1(p)| < tau }            (pixels whose input barely changed)
 *   flicker_t = 255 * mean_{p in S_t} |Y_out,t(p) - Y_out,t-1(p)|
 * with Y = 0.2126 R + 0.7152 G + 0.0722 B on [0, 1] values and tau = 0.02
 * (about 5 levels of 8 bits). In words: how many 8-bit levels the stylized
 * picture changes, on average, where the input stood still. It is null for
 * the first frame and when fewer than 1% of pixels are static (a cut or a
 * whole-frame move), and those frames are left out of the mean. It is taken
 * on the 8-bit frames the viewer gets (Y in levels, tau = 0.02 x 255).
 *
 * Stabilization (off by default): on static pixels the output is blended with
 * the previous (stabilized) output, weight = strength * (1 - |dY_in| / tau),
 * so moving pixels are untouched and still ones stop shimmering.
 */
export const STATIC_THRESHOLD = 0.02;
export const MIN_STATIC_FRACTION = 0.01;
export const DEFAULT_STABILIZE_STRENGTH = 0.7;

const KR = 0.2126;
const KG = 0.7152;
const KB = 0.0722;

export interface CoherenceOptions {
  readonly width: number;
  readonly height: number;
  /** Packed pixels: 3 (RGB) or 4 (RGBA, alpha ignored), for the model's input and output frames. */
  readonly inputChannels: 3 | 4;
  readonly outputChannels: 3 | 4;
  /** 0 disables stabilization; (0, 1) blends static pixels with the previous output. */
  readonly stabilizeStrength?: number;
  readonly staticThreshold?: number;
}

export class CoherenceCheck {
  private readonly previousInputY: Float32Array;
  private readonly previousOutputY: Float32Array;
  private readonly previousOutput: Uint8Array;
  private hasPrevious = false;
  private sum = 0;
  private counted = 0;
  private readonly strength: number;
  /** In 8-bit levels of luminance. */
  private readonly threshold: number;

  constructor(readonly options: CoherenceOptions) {
    const pixels = options.width * options.height;
    this.previousInputY = new Float32Array(pixels);
    this.previousOutputY = new Float32Array(pixels);
    this.strength = options.stabilizeStrength ?? 0;
    if (this.strength < 0 || this.strength >= 1) throw new RangeError(`stabilize strength must be in [0, 1), got ${this.strength}`);
    this.threshold = 255 * (options.staticThreshold ?? STATIC_THRESHOLD);
    this.previousOutput = new Uint8Array(this.strength > 0 ? pixels * options.outputChannels : 0);
  }

  /** Mean flicker over the frames that had a score (null if none did). */
  get meanFlicker(): number | null {
    return this.counted > 0 ? this.sum / this.counted : null;
  }

  get scoredFrames(): number {
    return this.counted;
  }

  /** Call after a cut or a source switch: the next frame starts a new sequence. */
  reset(): void {
    this.hasPrevious = false;
  }

  /**
   * Scores one frame (and stabilizes `output` in place when enabled).
   * `input` and `output` are packed pixels of the configured size and channels.
   */
  process(input: Uint8Array, output: Uint8Array): number | null {
    const { width, height, inputChannels, outputChannels } = this.options;
    if (input.length < width * height * inputChannels || output.length < width * height * outputChannels) {
      throw new RangeError(`frame buffers too small for ${width}x${height}`);
    }
    const stabilizing = this.hasPrevious && this.strength > 0;
    if (stabilizing) this.stabilize(input, output);
    const { staticPixels, change } = this.score(input, output);
    if (this.strength > 0) this.previousOutput.set(output.subarray(0, this.previousOutput.length));
    const first = !this.hasPrevious;
    this.hasPrevious = true;
    if (first || staticPixels < MIN_STATIC_FRACTION * width * height) return null;
    const score = change / staticPixels;
    this.sum += score;
    this.counted++;
    return score;
  }

  /** The score alone, once per frame on every frame: written without data-dependent branches (faster in V8). */
  private score(input: Uint8Array, output: Uint8Array): { staticPixels: number; change: number } {
    const { width, height, inputChannels: ci, outputChannels: co } = this.options;
    const previousInputY = this.previousInputY;
    const previousOutputY = this.previousOutputY;
    const threshold = this.threshold;
    const pixels = width * height;
    let staticPixels = 0;
    let change = 0;
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += ci, o += co) {
      const inY = KR * input[i]! + KG * input[i + 1]! + KB * input[i + 2]!;
      const inDelta = Math.abs(inY - previousInputY[p]!);
      previousInputY[p] = inY;
      const outY = KR * output[o]! + KG * output[o + 1]! + KB * output[o + 2]!;
      // 1 where the input stood still (inDelta < threshold), else 0.
      const still = Math.max(0, Math.sign(threshold - inDelta));
      staticPixels += still;
      change += still * Math.abs(outY - previousOutputY[p]!);
      previousOutputY[p] = outY;
    }
    return { staticPixels, change };
  }

  /** Blends still pixels with the previous output, before the score reads them (reads the input history, leaves it to score()). */
  private stabilize(input: Uint8Array, output: Uint8Array): void {
    const { width, height, inputChannels: ci, outputChannels: co } = this.options;
    const threshold = this.threshold;
    const strength = this.strength;
    const prevOut = this.previousOutput;
    const pixels = width * height;
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += ci, o += co) {
      const inY = KR * input[i]! + KG * input[i + 1]! + KB * input[i + 2]!;
      const inDelta = Math.abs(inY - this.previousInputY[p]!);
      if (inDelta >= threshold) continue;
      const w = strength * (1 - inDelta / threshold);
      for (let c = 0; c < 3; c++) output[o + c] = w * prevOut[o + c]! + (1 - w) * output[o + c]! + 0.5;
    }
  }
}
