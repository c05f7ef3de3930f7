import { performance } from 'node:perf_hooks';
import type { LiveInputFrame } from '../../pipeline/live.js';
import type { BroadcastSink } from '../sink.js';
import { createVideoSink, createVideoSource, i420Size, i420ToRgba, rgbaToI420, type VideoSource, type VideoTrack } from './wrtc.js';

/** An outgoing video (one RTCVideoSource; each peer connection gets its own track of it); a broadcast sink. */
export class RtcVideoOutput implements BroadcastSink {
  readonly source: VideoSource = createVideoSource();
  private i420: Uint8Array = new Uint8Array(0);
  private readonly tracks = new Set<VideoTrack>();

  get trackCount(): number {
    return this.tracks.size;
  }

  /** A new track for one peer connection; released with `releaseTrack`. */
  createTrack(): VideoTrack {
    const track = this.source.createTrack();
    this.tracks.add(track);
    return track;
  }

  releaseTrack(track: VideoTrack): void {
    if (this.tracks.delete(track)) track.stop();
  }

  pushRgba(width: number, height: number, rgba: Uint8Array): void {
    if (this.tracks.size === 0) return;
    const size = i420Size(width, height);
    if (this.i420.length !== size) this.i420 = new Uint8Array(size);
    rgbaToI420({ width, height, data: rgba }, { width, height, data: this.i420 });
    this.source.onFrame({ width, height, data: this.i420 });
  }

  pushFrame(width: number, height: number, rgba: Uint8Array): void {
    this.pushRgba(width, height, rgba);
  }

  pushI420(width: number, height: number, i420: Uint8Array): void {
    if (this.tracks.size > 0) this.source.onFrame({ width, height, data: i420 });
  }

  close(): void {
    for (const track of this.tracks) track.stop();
    this.tracks.clear();
  }
}

/** Frames of a received track, as RGBA live frames (converted natively). Returns a stop function. */
export function receiveVideo(track: VideoTrack, onFrame: (frame: LiveInputFrame, i420: Uint8Array) => void): () => void {
  const sink = createVideoSink(track);
  sink.onframe = ({ frame }) => {
    const { width, height } = frame;
    const rgba = new Uint8Array(width * height * 4);
    i420ToRgba(frame, { width, height, data: rgba });
    onFrame({ width, height, channels: 4, data: rgba, receivedAt: performance.now() }, frame.data);
  };
  return () => {
    sink.onframe = null;
    sink.stop();
  };
}
