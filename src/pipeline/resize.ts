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
  if (src.length < srcWidth * srcHeight * channels || dst.length < dstWidth * dstHeight * channels) {
    throw new RangeError('resizeBilinear: buffer smaller than its size');
  }
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
