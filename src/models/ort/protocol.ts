import type { ErrorCode } from '../../core/errors.js';
import type { Device, ExecutionProvider } from '../providers.js';
import type { Conditioning } from '../contract.js';
import type { FrameIo } from './runtime.js';

export type WorkerRequest =
  | {
      readonly type: 'load';
      readonly id: number;
      readonly modelPath: string;
      readonly device: Device;
      readonly threads: number;
      /** Wrap the stylizer for 8-bit pixel frames (ort/pixel-graph.ts). */
      readonly pixelGraph: boolean;
    }
  | {
      readonly type: 'run';
      readonly id: number;
      /**
       * One or more frames of the same size, run as one batch (N frames in one call);
       * each packed 8-bit RGB or RGBA, each with the buffer that receives its stylized frame.
       */
      readonly frames: ReadonlyArray<FrameBuffers>;
      readonly inputChannels: 3 | 4;
      readonly outputChannels: 3 | 4;
      readonly height: number;
      readonly width: number;
      /** Contract 2 only: the style vector and strength. */
      readonly conditioning: Conditioning | null;
      /** How much of the frames' own colour to keep (0-1). */
      readonly keepColour: number;
    }
  | { readonly type: 'encode'; readonly id: number; readonly painting: Float32Array; readonly height: number; readonly width: number }
  | { readonly type: 'close'; readonly id: number };

/** A frame's input and the buffer for its stylized output; both travel by transfer and come back. */
export interface FrameBuffers {
  readonly input: Uint8Array;
  readonly output: Uint8Array;
}

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
      /** Whether frames cross as 8-bit pixels (converted in the graph), or why not. */
      readonly frameIo: FrameIo;
      /** The inference thread's nice value (null where it cannot be read or set). */
      readonly niceness: number | null;
    }
  | { readonly type: 'encoded'; readonly id: number; readonly style: Float32Array }
  | { readonly type: 'ran'; readonly id: number; readonly frames: ReadonlyArray<FrameBuffers>; readonly ms: number }
  | { readonly type: 'closed'; readonly id: number }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly error: WorkerFailure;
      /** Buffers of a failed run, handed back so the caller's pool stays whole. */
      readonly frames?: ReadonlyArray<FrameBuffers>;
    };
