/**
 * The type and pixel size of a still image, read from its first bytes, so an
 * image too large to decode is refused before any decoder sees it (a 2 MB PNG
 * can declare 16000x16000). Pure: bytes in, answer out.
 */
export type ImageType = 'jpeg' | 'png' | 'webp' | 'bmp';

export interface ImageHeader {
  readonly type: ImageType;
  /** null when the header does not say within the bytes given (the decoder's own checks then apply). */
  readonly width: number | null;
  readonly height: number | null;
}

/** The demuxer that decodes each type, and nothing else. */
export const IMAGE_DEMUXERS: Readonly<Record<ImageType, string>> = { jpeg: 'jpeg_pipe', png: 'png_pipe', webp: 'webp_pipe', bmp: 'bmp_pipe' };

/** How many leading bytes to read for imageHeader: JPEG's size marker can follow a large EXIF block. */
export const IMAGE_HEADER_BYTES = 256 * 1024;

const ascii = (b: Uint8Array, start: number, end: number) => String.fromCharCode(...b.subarray(start, end));

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function jpegSize(b: Uint8Array): [number, number] | null {
  const v = view(b);
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; } // no length
    const length = v.getUint16(i + 2);
    // Start-of-frame markers (C0-CF except DHT C4, JPG C8, DAC CC) carry the size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return [v.getUint16(i + 7), v.getUint16(i + 5)];
    if (marker === 0xda || length < 2) return null; // image data before any frame header
    i += 2 + length;
  }
  return null;
}

function webpSize(b: Uint8Array): [number, number] | null {
  if (b.length < 25) return null;
  const v = view(b);
  const chunk = ascii(b, 12, 16);
  if (chunk !== 'VP8L' && b.length < 30) return null;
  if (chunk === 'VP8 ') return [v.getUint16(26, true) & 0x3fff, v.getUint16(28, true) & 0x3fff];
  if (chunk === 'VP8L') {
    const bits = v.getUint32(21, true);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  if (chunk === 'VP8X') {
    const u24 = (o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
    return [u24(24) + 1, u24(27) + 1];
  }
  return null;
}

/** The image's type and size from its first bytes; null when it is none of JPEG, PNG, WebP, BMP. */
export function imageHeader(b: Uint8Array): ImageHeader | null {
  let type: ImageType | null = null;
  let size: [number, number] | null = null;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    type = 'jpeg';
    size = jpegSize(b);
  } else if (b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x)) {
    type = 'png';
    if (b.length >= 24 && ascii(b, 12, 16) === 'IHDR') size = [view(b).getUint32(16), view(b).getUint32(20)];
  } else if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') {
    type = 'webp';
    size = webpSize(b);
  } else if (b.length >= 2 && ascii(b, 0, 2) === 'BM') {
    type = 'bmp';
    if (b.length >= 26) size = [Math.abs(view(b).getInt32(18, true)), Math.abs(view(b).getInt32(22, true))];
  }
  if (!type) return null;
  return { type, width: size?.[0] ?? null, height: size?.[1] ?? null };
}
