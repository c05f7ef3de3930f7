import type { ErrorCode } from '../../core/errors.js';
import type { Device, ExecutionProvider } from '../providers.js';

export type WorkerRequest =
  | { readonly type: 'load'; readonly id: number; readonly modelPath: string; readonly device: Device; readonly threads: number }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly input: Float32Array;
      readonly output: Float32Array;
      readonly height: number;
      readonly width: number;
    }
  | { readonly type: 'close'; readonly id: number };

export interface WorkerFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

export type WorkerReply =
  | { readonly type: 'loaded'; readonly id: number; readonly provider: ExecutionProvider; readonly skipped: ReadonlyArray<{ provider: string; reason: string }>; readonly ortVersion: string }
  | { readonly type: 'ran'; readonly id: number; readonly input: Float32Array; readonly output: Float32Array; readonly ms: number }
  | { readonly type: 'closed'; readonly id: number }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly error: WorkerFailure;
      /** Buffers of a failed run, handed back so the caller's pool stays whole. */
      readonly input?: Float32Array;
      readonly output?: Float32Array;
    };
