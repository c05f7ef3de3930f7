/**
 * RxJS adapters around the pure stage cores. Each one tears down what it
 * started when unsubscribed (the decoder's ffmpeg child, pending credits).
 */
import { Observable, concatMap, map, type OperatorFunction } from 'rxjs';
import { StylecastError } from '../core/errors.js';
import type { RgbFrame, StylizedFrame, TensorFrame } from '../core/frame.js';
import type { VideoDecoder } from '../media/ffmpeg/decoder.js';
import type { StyleEngine } from '../models/engine.js';
import type { CoherenceCheck } from './coherence.js';
import type { CreditGate, TensorPool } from './flow-control.js';
import { rgbToTensor, tensorToRgb } from './tensor.js';

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

export function toTensorStage(pool: TensorPool, tensorWidth: number, tensorHeight: number): OperatorFunction<RgbFrame, TensorFrame> {
  return map((frame) => {
    const data = pool.acquire();
    rgbToTensor(frame.data, frame.width, frame.height, data, tensorWidth, tensorHeight);
    return { index: frame.index, width: frame.width, height: frame.height, receivedAt: frame.receivedAt, tensorWidth, tensorHeight, data };
  });
}

/** Runs the model in the worker, one frame at a time in order; buffers return to the pool. */
export function stylizeStage(engine: StyleEngine, pool: TensorPool): OperatorFunction<TensorFrame, StylizedFrame> {
  return concatMap(async (frame) => {
    const result = await engine.run(frame.data, pool.acquire(), frame.tensorHeight, frame.tensorWidth);
    return {
      index: frame.index,
      width: frame.width,
      height: frame.height,
      receivedAt: frame.receivedAt,
      tensorWidth: frame.tensorWidth,
      tensorHeight: frame.tensorHeight,
      input: result.input,
      output: result.output,
      inferenceMs: result.ms,
    };
  });
}

export function coherenceStage(check: CoherenceCheck): OperatorFunction<StylizedFrame, StylizedFrame> {
  return map((frame) => {
    frame.flicker = check.process(frame.input, frame.output);
    return frame;
  });
}

export interface OutputFrame extends RgbFrame {
  readonly inferenceMs: number;
  readonly flicker: number | null;
}

export function fromTensorStage(pool: TensorPool): OperatorFunction<StylizedFrame, OutputFrame> {
  return map((frame) => {
    const data = new Uint8Array(frame.width * frame.height * 3);
    tensorToRgb(frame.output, frame.tensorWidth, frame.tensorHeight, frame.width, frame.height, data);
    pool.release(frame.input);
    pool.release(frame.output);
    return {
      index: frame.index,
      width: frame.width,
      height: frame.height,
      receivedAt: frame.receivedAt,
      data,
      inferenceMs: frame.inferenceMs,
      flicker: frame.flicker ?? null,
    };
  });
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
