import { SIZE_MULTIPLE } from './contract.js';
import { roundUpTo, type FrameSize } from '../core/frame.js';

/**
 * Frames as the models see them. A frame is packed 8-bit pixels (RGB24 or
 * RGBA, row-major); a model runs on a size rounded up to multiples of
 * SIZE_MULTIPLE, so frames are padded on the right and bottom by repeating
 * their edge pixels and the result is cropped back. Models wrapped for pixels
 * (ort/pixel-graph.ts) take the padded bytes as they are; others take float
 * NCHW tensors in [0, 1] (rgbToTensor, tensorToRgb).
 */
export function tensorSizeFor(size: FrameSize): { tensorWidth: number; tensorHeight: number } {
  return { tensorWidth: roundUpTo(size.width, SIZE_MULTIPLE), tensorHeight: roundUpTo(size.height, SIZE_MULTIPLE) };
}

/**
 * Packed RGB24 or RGBA (HWC, 0-255; alpha ignored) -> planar float32 (CHW, 0-1), padded on the
 * right/bottom to the tensor size by repeating the edge pixels.
 */
export function rgbToTensor(
  rgb: Uint8Array,
  width: number,
  height: number,
  out: Float32Array,
  tensorWidth: number,
  tensorHeight: number,
  channels: 3 | 4 = 3,
): void {
  const plane = tensorWidth * tensorHeight;
  if (out.length < plane * 3) throw new RangeError(`tensor buffer too small: ${out.length} < ${plane * 3}`);
  if (rgb.length < width * height * channels) throw new RangeError(`frame buffer too small: ${rgb.length} < ${width * height * channels}`);
  const scale = 1 / 255;
  for (let y = 0; y < tensorHeight; y++) {
    const sy = y < height ? y : height - 1;
    const srcRow = sy * width * channels;
    const dstRow = y * tensorWidth;
    for (let x = 0; x < tensorWidth; x++) {
      const sx = x < width ? x : width - 1;
      const s = srcRow + sx * channels;
      const d = dstRow + x;
      out[d] = rgb[s]! * scale;
      out[d + plane] = rgb[s + 1]! * scale;
      out[d + 2 * plane] = rgb[s + 2]! * scale;
    }
  }
}

/**
 * Planar float32 in [0, 1] -> packed RGB24 (or RGBA with opaque alpha),
 * clamped and rounded, cropped to `width x height`.
 */
export function tensorToRgb(
  tensor: Float32Array,
  tensorWidth: number,
  tensorHeight: number,
  width: number,
  height: number,
  out: Uint8Array,
  channels: 3 | 4 = 3,
): void {
  const plane = tensorWidth * tensorHeight;
  if (tensor.length < plane * 3) throw new RangeError(`tensor too small: ${tensor.length} < ${plane * 3}`);
  if (out.length < width * height * channels) throw new RangeError(`frame buffer too small: ${out.length} < ${width * height * channels}`);
  for (let y = 0; y < height; y++) {
    const srcRow = y * tensorWidth;
    let d = y * width * channels;
    for (let x = 0; x < width; x++) {
      const s = srcRow + x;
      // Uint8Array assignment truncates; +0.5 rounds, and clamping handles NaN (-> 0) and range.
      out[d++] = clampByte(tensor[s]!);
      out[d++] = clampByte(tensor[s + plane]!);
      out[d++] = clampByte(tensor[s + 2 * plane]!);
      if (channels === 4) out[d++] = 255;
    }
  }
}

function clampByte(value: number): number {
  const v = value * 255 + 0.5;
  return v > 255 ? 255 : v > 0 ? v : 0;
}

/** Packed pixels -> the same layout at the padded size, edge pixels repeated on the right and bottom. */
export function padPixels(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  out: Uint8Array,
  paddedWidth: number,
  paddedHeight: number,
): void {
  const srcRow = width * channels;
  const dstRow = paddedWidth * channels;
  if (src.length < srcRow * height) throw new RangeError(`frame buffer too small: ${src.length} < ${srcRow * height}`);
  if (out.length < dstRow * paddedHeight) throw new RangeError(`padded buffer too small: ${out.length} < ${dstRow * paddedHeight}`);
  for (let y = 0; y < paddedHeight; y++) {
    const from = (y < height ? y : height - 1) * srcRow;
    const to = y * dstRow;
    out.set(src.subarray(from, from + srcRow), to);
    for (let x = width; x < paddedWidth; x++) out.copyWithin(to + x * channels, to + (width - 1) * channels, to + width * channels);
  }
}

/** Packed RGB at the padded size -> the frame's own size, as RGB or as RGBA with opaque alpha. */
export function cropPixels(
  src: Uint8Array,
  paddedWidth: number,
  paddedHeight: number,
  width: number,
  height: number,
  out: Uint8Array,
  channels: 3 | 4,
): void {
  if (src.length < paddedWidth * paddedHeight * 3) throw new RangeError(`padded buffer too small: ${src.length} < ${paddedWidth * paddedHeight * 3}`);
  if (out.length < width * height * channels) throw new RangeError(`frame buffer too small: ${out.length} < ${width * height * channels}`);
  if (channels === 3) {
    for (let y = 0; y < height; y++) out.set(src.subarray(y * paddedWidth * 3, (y * paddedWidth + width) * 3), y * width * 3);
    return;
  }
  let d = 0;
  for (let y = 0; y < height; y++) {
    let s = y * paddedWidth * 3;
    for (let x = 0; x < width; x++) {
      out[d++] = src[s++]!;
      out[d++] = src[s++]!;
      out[d++] = src[s++]!;
      out[d++] = 255;
    }
  }
}
