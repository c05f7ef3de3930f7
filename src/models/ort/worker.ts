/**
 * Inference worker thread: owns one ONNX Runtime session at a time, so the
 * main thread's event loop never blocks on a model. Buffers come and go by
 * transfer (no copies); a new model replaces the old one between frames.
 */
import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { StylecastError, describeError } from '../../core/errors.js';
import type { WorkerFailure, WorkerReply, WorkerRequest } from './protocol.js';
import { encoderPathFor, isArbitraryStylizer, styleLengthOf } from '../contract.js';
import { FrameScratch, createSession, encodeStyle, frameIoOf, ortVersion, runFrames, signatureOf, takesPixels, type Session, type SessionSettings } from './runtime.js';
import type { ExecutionProvider } from '../providers.js';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
const port = parentPort;

/**
 * Inference yields the CPU to everything else of ours: on Linux a thread's nice
 * value is its own and the threads ONNX Runtime starts for a session inherit
 * it, so this thread and its pool run below the ffmpeg children and the main
 * thread. A live source's decoder then keeps up with the sender and the
 * stylizer drops frames (newest wins) instead of the lag growing in a network
 * buffer; a file loses nothing (its pipeline is lossless either way).
 */
export const INFERENCE_NICENESS = 5;
let niceness: number | null = null;
try {
  setPriority(Math.max(getPriority(), INFERENCE_NICENESS));
  niceness = getPriority();
} catch {
  // Not permitted here (or not Linux): inference runs at the process's priority.
}
let session: Session | null = null;
/**
 * The same model with the colour-keeping wrap, opened the first time a frame asks
 * to keep colour (its extra arithmetic would otherwise cost every frame).
 */
let colourSession: Promise<Session> | null = null;
/** How the current session was opened, to open its colour-keeping twin the same way. */
let opened: { modelPath: string; provider: ExecutionProvider; settings: SessionSettings } | null = null;
/** Contract 2: the style encoder beside the stylizer. */
let encoder: Session | null = null;
let queue: Promise<void> = Promise.resolve();
const scratch = new FrameScratch();

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
        const settings = { threads: request.threads, pixelGraph: request.pixelGraph };
        const selected = await createSession(request.modelPath, request.device, settings);
        const signature = signatureOf(selected.value);
        let newEncoder: Session | null = null;
        if (isArbitraryStylizer(signature)) {
          try {
            const styleLength = styleLengthOf(signature);
            newEncoder = (await createSession(encoderPathFor(request.modelPath), request.device, settings, { kind: 'encoder', styleLength })).value;
          } catch (error) {
            await selected.value.release();
            throw error;
          }
        }
        const previous = [session, encoder, await colourSession?.catch(() => null)];
        session = selected.value;
        encoder = newEncoder;
        colourSession = null;
        opened = { modelPath: request.modelPath, provider: selected.provider, settings };
        await Promise.all(previous.map((s) => s?.release()));
        reply({
          type: 'loaded', id: request.id, provider: selected.provider, skipped: selected.skipped, ortVersion: ortVersion(),
          styleLength: newEncoder ? styleLengthOf(signature) : null, frameIo: frameIoOf(selected.value, request.modelPath), niceness,
        });
      } catch (error) {
        reply({ type: 'failed', id: request.id, error: failure(error) });
      }
      return;
    }
    case 'run': {
      const { frames } = request;
      const transfer = frames.flatMap((f) => [f.input.buffer as ArrayBuffer, f.output.buffer as ArrayBuffer]);
      try {
        if (!session) throw new StylecastError('INFERENCE_FAILED', 'no model loaded');
        // Keeping colour needs the pixel wrap; a model that could not be wrapped runs as it is.
        const target = request.keepColour > 0 && takesPixels(session) ? await colourTwin() : session;
        const started = performance.now();
        const { width, height, inputChannels, outputChannels } = request;
        const run = { frames: frames.map((f) => ({ pixels: f.input, output: f.output })), width, height, inputChannels, outputChannels, keepColour: request.keepColour };
        await runFrames(target, run, scratch, request.conditioning);
        reply({ type: 'ran', id: request.id, frames, ms: performance.now() - started }, transfer);
      } catch (error) {
        reply({ type: 'failed', id: request.id, error: failure(error), frames }, transfer);
      }
      return;
    }
    case 'encode': {
      try {
        if (!encoder) throw new StylecastError('USAGE', 'this model has one style built in: it takes no painting');
        const style = await encodeStyle(encoder, request.painting, request.height, request.width);
        reply({ type: 'encoded', id: request.id, style }, [style.buffer as ArrayBuffer]);
      } catch (error) {
        reply({ type: 'failed', id: request.id, error: failure(error) });
      }
      return;
    }
    case 'close': {
      const twin = await colourSession?.catch(() => null);
      await Promise.all([session, encoder, twin].map((s) => s?.release().catch(() => undefined)));
      session = null;
      encoder = null;
      colourSession = null;
      reply({ type: 'closed', id: request.id });
      port.close();
      return;
    }
  }
}

function colourTwin(): Promise<Session> {
  if (!opened) return Promise.reject(new StylecastError('INFERENCE_FAILED', 'no model loaded'));
  const { modelPath, provider, settings } = opened;
  if (!colourSession) {
    const opening = createSession(modelPath, provider, { ...settings, keepColour: true }).then((selected) => selected.value);
    // A failed open is not kept: the next frame that asks tries again (and fails with the reason).
    opening.catch(() => { if (colourSession === opening) colourSession = null; });
    colourSession = opening;
  }
  return colourSession;
}

// Requests run one after another, in arrival order.
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});
