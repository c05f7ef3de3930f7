import type { ErrorCode } from '../../core/errors.js';
import type { Device, ExecutionProvider } from '../providers.js';
import type { Conditioning } from '../contract.js';

export type WorkerRequest =
  | { readonly type: 'load'; readonly id: number; readonly modelPath: string; readonly device: Device; readonly threads: number }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly input: Float32Array;
      readonly output: Float32Array;
      readonly height: number;
      readonly width: number;
      /** Contract 2 only: the style vector and strength. */
      readonly conditioning: Conditioning | null;
    }
  | { readonly type: 'encode'; readonly id: number; readonly painting: Float32Array; readonly height: number; readonly width: number }
  | { readonly type: 'close'; readonly id: number };

export interface WorkerFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

export type WorkerReply =
  | {
      readonly type: 'loaded';
      readonly id: number;
      readonly provider: ExecutionProvider;
      readonly skipped: ReadonlyArray<{ provider: string; reason: string }>;
      readonly ortVersion: string;
      /** Contract 2: the length of the stylizer's style vector; null for a one-style model. */
      readonly styleLength: number | null;
    }
  | { readonly type: 'encoded'; readonly id: number; readonly style: Float32Array }
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
