/**
 * Splits a fragmented-MP4 byte stream (ffmpeg `-movflags frag_keyframe+empty_moov`)
 * into the init segment (ftyp + moov) and media fragments (moof + mdat), and
 * tells whether a fragment starts with a sync sample. Pure: fed with chunks.
 */
export interface Mp4Segment {
  readonly kind: 'init' | 'fragment';
  readonly data: Buffer;
  /** For fragments: the first sample is a keyframe (a viewer may start here). */
  readonly keyframe: boolean;
}

const NON_SYNC = 0x00010000;

export class Mp4Segmenter {
  private buffer: Buffer = Buffer.alloc(0);
  private initParts: Buffer[] = [];
  private moof: Buffer | null = null;

  push(chunk: Buffer): Mp4Segment[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: Mp4Segment[] = [];
    for (;;) {
      if (this.buffer.length < 8) break;
      let size = this.buffer.readUInt32BE(0);
      if (size === 1) {
        if (this.buffer.length < 16) break;
        size = Number(this.buffer.readBigUInt64BE(8));
      }
      if (size < 8) throw new Error(`invalid MP4 box size ${size}`);
      if (this.buffer.length < size) break;
      const box = this.buffer.subarray(0, size);
      this.buffer = this.buffer.subarray(size);
      const type = box.toString('latin1', 4, 8);
      if (type === 'ftyp') this.initParts = [Buffer.from(box)];
      else if (type === 'moov') {
        this.initParts.push(Buffer.from(box));
        out.push({ kind: 'init', data: Buffer.concat(this.initParts), keyframe: false });
        this.initParts = [];
      } else if (type === 'moof') this.moof = Buffer.from(box);
      else if (type === 'mdat' && this.moof) {
        out.push({ kind: 'fragment', data: Buffer.concat([this.moof, box]), keyframe: firstSampleIsSync(this.moof) });
        this.moof = null;
      }
    }
    return out;
  }
}

function* children(box: Buffer, start: number): Generator<{ type: string; body: Buffer }> {
  let offset = start;
  while (offset + 8 <= box.length) {
    const size = box.readUInt32BE(offset);
    if (size < 8 || offset + size > box.length) return;
    yield { type: box.toString('latin1', offset + 4, offset + 8), body: box.subarray(offset + 8, offset + size) };
    offset += size;
  }
}

/** Reads tfhd/trun of the first traf: the first sample's flags say whether it is a sync sample. */
export function firstSampleIsSync(moof: Buffer): boolean {
  for (const traf of children(moof, 8)) {
    if (traf.type !== 'traf') continue;
    let defaultFlags: number | null = null;
    for (const child of children(traf.body, 0)) {
      const b = child.body;
      if (child.type === 'tfhd') {
        const flags = b.readUInt32BE(0) & 0xffffff;
        let o = 8; // version/flags + track_ID
        if (flags & 0x1) o += 8;
        if (flags & 0x2) o += 4;
        if (flags & 0x8) o += 4;
        if (flags & 0x10) o += 4;
        if (flags & 0x20) defaultFlags = b.readUInt32BE(o);
      } else if (child.type === 'trun') {
        const flags = b.readUInt32BE(0) & 0xffffff;
        let o = 8; // version/flags + sample_count
        if (flags & 0x1) o += 4;
        if (flags & 0x4) return (b.readUInt32BE(o) & NON_SYNC) === 0;
        if (flags & 0x400) {
          if (flags & 0x100) o += 4;
          if (flags & 0x200) o += 4;
          return (b.readUInt32BE(o) & NON_SYNC) === 0;
        }
        return defaultFlags !== null && (defaultFlags & NON_SYNC) === 0;
      }
    }
  }
  return false;
}
