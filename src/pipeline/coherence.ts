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
 * whole-frame move), and those frames are left out of the mean.
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
  readonly tensorWidth: number;
  readonly tensorHeight: number;
  /** 0 disables stabilization; (0, 1) blends static pixels with the previous output. */
  readonly stabilizeStrength?: number;
  readonly staticThreshold?: number;
}

export class CoherenceCheck {
  private readonly previousInputY: Float32Array;
  private readonly previousOutputY: Float32Array;
  private readonly previousOutput: Float32Array;
  private hasPrevious = false;
  private sum = 0;
  private counted = 0;
  private readonly strength: number;
  private readonly threshold: number;

  constructor(readonly options: CoherenceOptions) {
    const pixels = options.width * options.height;
    this.previousInputY = new Float32Array(pixels);
    this.previousOutputY = new Float32Array(pixels);
    this.strength = options.stabilizeStrength ?? 0;
    if (this.strength < 0 || this.strength >= 1) throw new RangeError(`stabilize strength must be in [0, 1), got ${this.strength}`);
    this.threshold = options.staticThreshold ?? STATIC_THRESHOLD;
    this.previousOutput = new Float32Array(this.strength > 0 ? options.tensorWidth * options.tensorHeight * 3 : 0);
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
   * `input` and `output` are planar tensors of the configured tensor size.
   */
  process(input: Float32Array, output: Float32Array): number | null {
    const { width, height, tensorWidth, tensorHeight } = this.options;
    const plane = tensorWidth * tensorHeight;
    const stabilizing = this.hasPrevious && this.strength > 0;
    if (stabilizing) this.stabilize(input, output, plane);
    const { staticPixels, change } = this.score(input, output, plane);
    if (this.strength > 0) this.previousOutput.set(output.subarray(0, plane * 3));
    const first = !this.hasPrevious;
    this.hasPrevious = true;
    if (first || staticPixels < MIN_STATIC_FRACTION * width * height) return null;
    const score = (255 * change) / staticPixels;
    this.sum += score;
    this.counted++;
    return score;
  }

  /** The score alone, once per frame on every frame: written without data-dependent branches (2.9 vs 4.4 ms at 640x360). */
  private score(input: Float32Array, output: Float32Array, plane: number): { staticPixels: number; change: number } {
    const { width, height, tensorWidth } = this.options;
    const inR = input.subarray(0, plane), inG = input.subarray(plane, 2 * plane), inB = input.subarray(2 * plane, 3 * plane);
    const outR = output.subarray(0, plane), outG = output.subarray(plane, 2 * plane), outB = output.subarray(2 * plane, 3 * plane);
    const previousInputY = this.previousInputY;
    const previousOutputY = this.previousOutputY;
    const threshold = this.threshold;
    let staticPixels = 0;
    let change = 0;
    for (let y = 0; y < height; y++) {
      const row = y * tensorWidth;
      const pixelRow = y * width;
      for (let x = 0; x < width; x++) {
        const t = row + x;
        const p = pixelRow + x;
        const inY = KR * inR[t]! + KG * inG[t]! + KB * inB[t]!;
        const inDelta = Math.abs(inY - previousInputY[p]!);
        previousInputY[p] = inY;
        const outY = KR * Math.max(0, Math.min(1, outR[t]!)) + KG * Math.max(0, Math.min(1, outG[t]!)) + KB * Math.max(0, Math.min(1, outB[t]!));
        // 1 where the input stood still (inDelta < threshold), else 0.
        const still = Math.max(0, Math.sign(threshold - inDelta));
        staticPixels += still;
        change += still * Math.abs(outY - previousOutputY[p]!);
        previousOutputY[p] = outY;
      }
    }
    return { staticPixels, change };
  }

  /** Blends still pixels with the previous output, before the score reads them (reads the input history, leaves it to score()). */
  private stabilize(input: Float32Array, output: Float32Array, plane: number): void {
    const { width, height, tensorWidth } = this.options;
    const threshold = this.threshold;
    const strength = this.strength;
    const prevOut = this.previousOutput;
    for (let y = 0; y < height; y++) {
      const row = y * tensorWidth;
      const pixelRow = y * width;
      for (let x = 0; x < width; x++) {
        const t = row + x;
        const inY = KR * input[t]! + KG * input[t + plane]! + KB * input[t + 2 * plane]!;
        const inDelta = Math.abs(inY - this.previousInputY[pixelRow + x]!);
        if (inDelta >= threshold) continue;
        const w = strength * (1 - inDelta / threshold);
        for (let c = 0; c < 3; c++) {
          const i = t + c * plane;
          output[i] = w * prevOut[i]! + (1 - w) * output[i]!;
        }
      }
    }
  }
}
