/**
 * One ffmpeg encoder fed live RGBA frames on its stdin, as the fMP4 stream and
 * the pushes use it: started at the first frame, restarted when the frame size
 * changes, a frame dropped (never queued) when ffmpeg has not taken the last
 * two, and stopped by closing its stdin with a grace period. `onExit` hears an
 * encoder that ended by itself (not one this class stopped).
 */
import type { ExitStatus } from '../media/ffmpeg/process.js';
import { FfmpegProcess, ffmpegBinary } from '../media/ffmpeg/process.js';

export interface LiveEncoderOptions {
  /** ffmpeg's arguments for frames of this size (input: rawvideo rgba on pipe:0). */
  readonly argsFor: (width: number, height: number) => string[];
  /** Read the encoder's stdout (a stream that comes back to us, e.g. fMP4). */
  readonly stdout?: boolean;
  /** A new encoder has started (wire its stdout here). */
  readonly onStart?: (encoder: FfmpegProcess) => void;
  readonly onExit: (encoder: FfmpegProcess, status: ExitStatus) => void;
}

export class LiveEncoder {
  private encoder: FfmpegProcess | null = null;
  private size = '';
  private droppedFrames = 0;
  /** Encoders told to stop and not yet exited (close() waits for them). */
  private readonly stopping = new Set<Promise<unknown>>();

  constructor(private readonly options: LiveEncoderOptions) {}

  get running(): boolean {
    return this.encoder !== null;
  }

  /** Frames not written because ffmpeg was behind. */
  get dropped(): number {
    return this.droppedFrames;
  }

  /** Writes a frame; false when it was dropped because ffmpeg has not taken the previous ones. */
  write(width: number, height: number, rgba: Uint8Array): boolean {
    const size = `${width}x${height}`;
    if (this.encoder && size !== this.size) this.stop();
    if (!this.encoder) this.start(width, height);
    const stdin = this.encoder!.stdin;
    if (stdin.writableLength > rgba.length * 2) {
      this.droppedFrames++;
      return false;
    }
    stdin.write(rgba);
    return true;
  }

  /** Ends the running encoder (it finishes what it holds within a second). */
  stop(): void {
    const encoder = this.encoder;
    this.encoder = null;
    if (encoder) {
      encoder.stdin.end();
      const exited = encoder.close(1000).finally(() => this.stopping.delete(exited));
      this.stopping.add(exited);
    }
  }

  /** Stops the encoder and resolves when every encoder this class started has exited. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.stopping);
  }

  private start(width: number, height: number): void {
    this.size = `${width}x${height}`;
    const encoder = new FfmpegProcess(ffmpegBinary(), this.options.argsFor(width, height), { stdin: true, stdout: this.options.stdout ?? false });
    this.encoder = encoder;
    this.options.onStart?.(encoder);
    void encoder.exited.then((status) => {
      if (this.encoder !== encoder) return; // stopped here: not news
      this.encoder = null;
      this.options.onExit(encoder, status);
    });
  }
}
