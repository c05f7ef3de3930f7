/**
 * RxJS adapters around the pure stage cores. Each one tears down what it
 * started when unsubscribed (the decoder's ffmpeg child, pending credits).
 */
import { Observable, concatMap, map, type OperatorFunction } from 'rxjs';
import { StylecastError } from '../core/errors.js';
import type { RgbFrame } from '../core/frame.js';
import type { VideoDecoder } from '../media/ffmpeg/decoder.js';
import type { CreditGate } from './flow-control.js';
import type { FrameStylizer, StylizedPixels } from './frame-stylizer.js';

/** Frames from an ffmpeg decoder, one credit each (pull-based: bounded memory). */
export function decodeStage(decoder: VideoDecoder, gate: CreditGate): Observable<RgbFrame> {
  return new Observable<RgbFrame>((subscriber) => {
    let stopped = false;
    const iterator = decoder.frames();
    void (async () => {
      try {
        while (!stopped) {
          await gate.acquire();
          if (stopped) return;
          const next = await iterator.next();
          if (next.done) break;
          if (stopped) return;
          subscriber.next(next.value);
        }
        if (!stopped) subscriber.complete();
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
      gate.cancel();
      void iterator.return(undefined);
      void decoder.close();
    };
  });
}

/**
 * The stylization core as overlapping stages: the next frame is prepared
 * while the model works on this one. Each frame's inference starts
 * as soon as it arrives (the engine's lanes run side by side; the credit gate
 * bounds how many), and results are taken in frame order, so the coherence
 * check and the encoder see the frames as decoded.
 */
export function stylizeStages(stylizer: FrameStylizer): OperatorFunction<RgbFrame, StylizedPixels> {
  return (frames) =>
    frames.pipe(
      map((frame) => {
        const inferred = stylizer.infer(stylizer.prepare(frame));
        // Awaited in order below; a failure after teardown must not surface as an unhandled rejection.
        inferred.catch(() => undefined);
        return inferred;
      }),
      concatMap((inferred) => inferred),
      map((frame) => stylizer.finish(frame)),
    );
}

/** Writes each frame to the encoder and gives its credit back once ffmpeg took it. */
export function encodeStage<T extends { readonly data: Uint8Array }>(
  write: (data: Uint8Array) => Promise<void>,
  gate: CreditGate,
): OperatorFunction<T, T> {
  return concatMap(async (frame) => {
    try {
      await write(frame.data);
    } catch (error) {
      throw error instanceof StylecastError ? error : new StylecastError('FFMPEG_FAILED', `encoder: ${(error as Error).message}`);
    }
    gate.release();
    return frame;
  });
}
