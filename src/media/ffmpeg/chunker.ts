/**
 * Cuts a byte stream into fixed-size frames (raw video on a pipe arrives in
 * arbitrary chunks). Pure: no streams, easy to test.
 */
export class FrameChunker {
  private current: Uint8Array;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameBytes}`);
    this.current = new Uint8Array(frameBytes);
  }

  /** Returns the frames completed by this chunk (each a new buffer the caller owns). */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      this.current.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameBytes) {
        frames.push(this.current);
        this.current = new Uint8Array(this.frameBytes);
        this.filled = 0;
      }
    }
    return frames;
  }

  /** Bytes of an incomplete frame held back (non-zero at the end means a cut-off frame). */
  get pendingBytes(): number {
    return this.filled;
  }
}
