export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

/** A decoded video frame: packed RGB24, row-major, no padding. */
export interface RgbFrame extends FrameSize {
  readonly index: number;
  readonly data: Uint8Array;
  /** performance.now() when the frame entered the pipeline (latency stats). */
  readonly receivedAt: number;
}

/** A frame on its way into the model: packed 8-bit pixels in a buffer of its own (it is transferred to a worker). */
export interface PreparedFrame extends FrameSize {
  readonly index: number;
  readonly receivedAt: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

/** The model's input and output for one frame, both packed 8-bit pixels at the frame's size. */
export interface StylizedFrame extends FrameSize {
  readonly index: number;
  readonly receivedAt: number;
  readonly input: Uint8Array;
  readonly inputChannels: 3 | 4;
  readonly output: Uint8Array;
  readonly outputChannels: 3 | 4;
  readonly inferenceMs: number;
}

export function roundUpTo(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
