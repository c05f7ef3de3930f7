function checkBuffers(name: string, src: Uint8Array, srcLength: number, dst: Uint8Array, dstLength: number): void {
  if (src.length < srcLength || dst.length < dstLength) throw new RangeError(`${name}: buffer smaller than its size`);
}

/**
 * Bilinear resize of packed 8-bit pixels with half-pixel centres: the rule
 * the trainer uses (torch `interpolate(mode="bilinear", align_corners=False)`)
 * when a fast variant's output is scaled back up, so the runtime shows what
 * the trainer optimized. Pure; `dst` is written in place.
 */
export function resizeBilinear(
  src: Uint8Array, srcWidth: number, srcHeight: number,
  dst: Uint8Array, dstWidth: number, dstHeight: number,
  channels: number,
): void {
  checkBuffers('resizeBilinear', src, srcWidth * srcHeight * channels, dst, dstWidth * dstHeight * channels);
  const scaleX = srcWidth / dstWidth;
  const scaleY = srcHeight / dstHeight;
  // Per-column source indices and weights, computed once per call.
  const x0s = new Int32Array(dstWidth);
  const x1s = new Int32Array(dstWidth);
  const wxs = new Float32Array(dstWidth);
  for (let x = 0; x < dstWidth; x++) {
    const sx = Math.max(0, (x + 0.5) * scaleX - 0.5);
    const x0 = Math.min(Math.floor(sx), srcWidth - 1);
    x0s[x] = x0 * channels;
    x1s[x] = Math.min(x0 + 1, srcWidth - 1) * channels;
    wxs[x] = sx - x0;
  }
  for (let y = 0; y < dstHeight; y++) {
    const sy = Math.max(0, (y + 0.5) * scaleY - 0.5);
    const y0 = Math.min(Math.floor(sy), srcHeight - 1);
    const y1 = Math.min(y0 + 1, srcHeight - 1);
    const wy = sy - y0;
    const row0 = y0 * srcWidth * channels;
    const row1 = y1 * srcWidth * channels;
    let out = y * dstWidth * channels;
    for (let x = 0; x < dstWidth; x++) {
      const wx = wxs[x]!;
      const a = row0 + x0s[x]!;
      const b = row0 + x1s[x]!;
      const c = row1 + x0s[x]!;
      const d = row1 + x1s[x]!;
      for (let k = 0; k < channels; k++) {
        const top = src[a + k]! + (src[b + k]! - src[a + k]!) * wx;
        const bottom = src[c + k]! + (src[d + k]! - src[c + k]!) * wx;
        dst[out++] = top + (bottom - top) * wy + 0.5; // Uint8Array assignment truncates: +0.5 rounds
      }
    }
  }
}

const CUBIC_A = -0.75; // torch's (and OpenCV's) cubic convolution coefficient

/** The four cubic-convolution weights for a sample `t` in [0, 1) past the left tap. */
function cubicWeights(t: number, out: Float32Array, at: number): void {
  const A = CUBIC_A;
  const x0 = t + 1;
  const x1 = t;
  const x2 = 1 - t;
  const x3 = 2 - t;
  out[at] = ((A * x0 - 5 * A) * x0 + 8 * A) * x0 - 4 * A;
  out[at + 1] = ((A + 2) * x1 - (A + 3)) * x1 * x1 + 1;
  out[at + 2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
  out[at + 3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
}

/** Per destination index: the 4 source taps (edge-clamped, times `stride`) and their weights. */
function cubicTaps(srcSize: number, dstSize: number, stride: number): { taps: Int32Array; weights: Float32Array } {
  const scale = srcSize / dstSize;
  const taps = new Int32Array(dstSize * 4);
  const weights = new Float32Array(dstSize * 4);
  for (let i = 0; i < dstSize; i++) {
    const real = (i + 0.5) * scale - 0.5; // half-pixel centres, not clamped (torch's cubic rule)
    const left = Math.floor(real);
    cubicWeights(real - left, weights, i * 4);
    for (let k = 0; k < 4; k++) taps[i * 4 + k] = Math.min(Math.max(left - 1 + k, 0), srcSize - 1) * stride;
  }
  return { taps, weights };
}

/**
 * The taps, weights and float scratch rows of one size pair, kept for the next
 * call: live streams resize every frame at the same sizes (a 1080p frame's
 * scratch is 15 MB, not worth allocating 30 times a second). Calls are
 * synchronous, so one plan can be shared.
 */
let lastPlan: { key: string; columns: ReturnType<typeof cubicTaps>; rows: ReturnType<typeof cubicTaps>; horizontal: Float32Array } | null = null;

function bicubicPlan(srcWidth: number, srcHeight: number, dstWidth: number, dstHeight: number, channels: number): NonNullable<typeof lastPlan> {
  const key = `${srcWidth}x${srcHeight}>${dstWidth}x${dstHeight}x${channels}`;
  if (lastPlan?.key !== key) {
    lastPlan = {
      key, columns: cubicTaps(srcWidth, dstWidth, channels), rows: cubicTaps(srcHeight, dstHeight, 1),
      horizontal: new Float32Array(srcHeight * dstWidth * channels),
    };
  }
  return lastPlan;
}

/**
 * Bicubic resize of packed 8-bit pixels: the runtime's enlargement from the
 * model size to the output size (docs/model-contract.md, "Model scale"), the
 * rule torch's `interpolate(mode="bicubic", align_corners=False)` follows
 * (cubic convolution, a = -0.75, half-pixel centres, edges repeated), so the
 * live path shows what the trainer measures; ffmpeg's `flags=bicubic` does the
 * same for files. Separable: rows first into floats, then columns. A fourth
 * (alpha) channel is resized like the others. `dst` is written in place; the
 * taps and scratch rows are reused from the previous call at the same sizes.
 */
export function resizeBicubic(
  src: Uint8Array, srcWidth: number, srcHeight: number,
  dst: Uint8Array, dstWidth: number, dstHeight: number,
  channels: number,
): void {
  checkBuffers('resizeBicubic', src, srcWidth * srcHeight * channels, dst, dstWidth * dstHeight * channels);
  const { columns, rows, horizontal } = bicubicPlan(srcWidth, srcHeight, dstWidth, dstHeight, channels);
  // Horizontal pass: srcHeight rows of dstWidth pixels, in float.
  const rowStride = dstWidth * channels;
  for (let y = 0; y < srcHeight; y++) {
    const srcRow = y * srcWidth * channels;
    let out = y * rowStride;
    for (let x = 0; x < dstWidth; x++) {
      const t = x * 4;
      const a = srcRow + columns.taps[t]!;
      const b = srcRow + columns.taps[t + 1]!;
      const c = srcRow + columns.taps[t + 2]!;
      const d = srcRow + columns.taps[t + 3]!;
      const w0 = columns.weights[t]!;
      const w1 = columns.weights[t + 1]!;
      const w2 = columns.weights[t + 2]!;
      const w3 = columns.weights[t + 3]!;
      for (let k = 0; k < channels; k++) {
        horizontal[out++] = src[a + k]! * w0 + src[b + k]! * w1 + src[c + k]! * w2 + src[d + k]! * w3;
      }
    }
  }
  // Vertical pass, rounded and clamped to 8 bits.
  for (let y = 0; y < dstHeight; y++) {
    const t = y * 4;
    const r0 = rows.taps[t]! * rowStride;
    const r1 = rows.taps[t + 1]! * rowStride;
    const r2 = rows.taps[t + 2]! * rowStride;
    const r3 = rows.taps[t + 3]! * rowStride;
    const w0 = rows.weights[t]!;
    const w1 = rows.weights[t + 1]!;
    const w2 = rows.weights[t + 2]!;
    const w3 = rows.weights[t + 3]!;
    const out = y * rowStride;
    for (let i = 0; i < rowStride; i++) {
      const v = horizontal[r0 + i]! * w0 + horizontal[r1 + i]! * w1 + horizontal[r2 + i]! * w2 + horizontal[r3 + i]! * w3;
      dst[out + i] = v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5; // Uint8Array assignment truncates: +0.5 rounds
    }
  }
}
