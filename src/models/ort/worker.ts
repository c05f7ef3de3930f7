/**
 * Inference worker thread: owns one ONNX Runtime session at a time, so the
 * main thread's event loop never blocks on a model. Buffers come and go by
 * transfer (no copies); a new model replaces the old one between frames.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { StylecastError, describeError } from '../../core/errors.js';
import type { WorkerFailure, WorkerReply, WorkerRequest } from './protocol.js';
import { createSession, ortVersion, runFrame, type Session } from './runtime.js';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
const port = parentPort;
let session: Session | null = null;
let queue: Promise<void> = Promise.resolve();

function failure(error: unknown): WorkerFailure {
  if (error instanceof StylecastError) return { code: error.code, message: error.message };
  return { code: 'INFERENCE_FAILED', message: describeError(error) };
}

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'load': {
      try {
        const selected = await createSession(request.modelPath, request.device, { threads: request.threads });
        const previous = session;
        session = selected.value;
        await previous?.release();
        reply({ type: 'loaded', id: request.id, provider: selected.provider, skipped: selected.skipped, ortVersion: ortVersion() });
      } catch (error) {
        reply({ type: 'failed', id: request.id, error: failure(error) });
      }
      return;
    }
    case 'run': {
      const { input, output } = request;
      const transfer = [input.buffer as ArrayBuffer, output.buffer as ArrayBuffer];
      try {
        if (!session) throw new StylecastError('INFERENCE_FAILED', 'no model loaded');
        const started = performance.now();
        await runFrame(session, input, output, request.height, request.width);
        reply({ type: 'ran', id: request.id, input, output, ms: performance.now() - started }, transfer);
      } catch (error) {
        reply({ type: 'failed', id: request.id, error: failure(error), input, output }, transfer);
      }
      return;
    }
    case 'close': {
      await session?.release().catch(() => undefined);
      session = null;
      reply({ type: 'closed', id: request.id });
      port.close();
      return;
    }
  }
}

// Requests run one after another, in arrival order.
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});
