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

/**
 * A frame as the model sees it: float32 NCHW (N = 1), RGB in [0, 1].
 * `tensorWidth/Height` are the frame size rounded up to multiples of 4
 * (edge pixels repeated); the frame occupies the top-left `width x height`.
 */
export interface TensorFrame extends FrameSize {
  readonly index: number;
  readonly receivedAt: number;
  readonly tensorWidth: number;
  readonly tensorHeight: number;
  readonly data: Float32Array;
}

/** The model's input and output for one frame, both in tensor layout. */
export interface StylizedFrame extends FrameSize {
  readonly index: number;
  readonly receivedAt: number;
  readonly tensorWidth: number;
  readonly tensorHeight: number;
  readonly input: Float32Array;
  readonly output: Float32Array;
  readonly inferenceMs: number;
  /** Filled by the temporal-coherence check (null for the first frame or a scene change). */
  flicker?: number | null;
}

export function roundUpTo(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
