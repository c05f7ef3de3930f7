/**
 * How far behind one fMP4 viewer may fall before it skips ahead. A live
 * viewer that stalls (a slow link, a paused tab, OBS busy) should come back
 * to the present, not replay a backlog: its queue is bounded in seconds of the
 * stream, not in bytes, so a low-bitrate stream (a static scene: 100 KB/s)
 * does not hide ten seconds of lag under a fixed megabyte.
 *
 * Pure: the broadcaster feeds it byte counts and times and does the sending.
 */

/** Unsent stream a viewer may hold before its fragments are dropped. */
export const MAX_QUEUED_SECONDS = 1;
/** Bounds of that allowance in bytes: a floor for streams too new to have a rate, a cap for memory. */
export const MIN_HIGH_WATERMARK = 128 << 10;
export const MAX_HIGH_WATERMARK = 1 << 20;
/** Window of the stream's measured byte rate. */
export const RATE_WINDOW_MS = 2000;

/** The stream's byte rate over the last RATE_WINDOW_MS, from the fragments as they leave the encoder. */
export class StreamRate {
  private readonly samples: { at: number; bytes: number }[] = [];
  private total = 0;

  add(bytes: number, nowMs: number): void {
    this.samples.push({ at: nowMs, bytes });
    this.total += bytes;
    while (this.samples.length > 1 && nowMs - this.samples[0]!.at > RATE_WINDOW_MS) {
      this.total -= this.samples.shift()!.bytes;
    }
  }

  /** Bytes per second; 0 until two fragments span some time. */
  get bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const span = this.samples[this.samples.length - 1]!.at - this.samples[0]!.at;
    // The first sample's bytes were produced before the window starts.
    return span > 0 ? ((this.total - this.samples[0]!.bytes) * 1000) / span : 0;
  }

  /** The largest fragment in the window (a keyframe's, in practice). */
  get largestFragment(): number {
    let largest = 0;
    for (const sample of this.samples) largest = Math.max(largest, sample.bytes);
    return largest;
  }

  /**
   * A viewer's allowance: MAX_QUEUED_SECONDS of the stream on top of the largest
   * fragment, within the byte bounds. The fragment is added because a keyframe can
   * be most of a second's bytes in a still scene: a link that carries the stream
   * in real time still holds one whole keyframe for a moment after it is written,
   * and must not be taken for a stalled one.
   */
  highWatermark(): number {
    const allowance = this.bytesPerSecond * MAX_QUEUED_SECONDS + this.largestFragment;
    return Math.min(MAX_HIGH_WATERMARK, Math.max(MIN_HIGH_WATERMARK, Math.round(allowance)));
  }

  reset(): void {
    this.samples.length = 0;
    this.total = 0;
  }
}

/**
 * One viewer: above the high watermark its fragments are dropped until it has
 * drained to a quarter of it and a keyframe comes, so it resumes on a picture
 * it can decode.
 */
export class ViewerGate {
  waitingForKeyframe = true;
  dropped = 0;

  /** Whether this fragment goes to the viewer, given what it still has unsent. */
  admit(buffered: number, keyframe: boolean, highWatermark: number): boolean {
    if (this.waitingForKeyframe) {
      if (!keyframe || buffered > highWatermark / 4) {
        this.dropped++;
        return false;
      }
      this.waitingForKeyframe = false;
      return true;
    }
    if (buffered > highWatermark) {
      this.dropped++;
      this.waitingForKeyframe = true;
      return false;
    }
    return true;
  }

  /** A new encoder: the viewer starts again at its first keyframe. */
  restart(): void {
    this.waitingForKeyframe = true;
  }
}
