import { Worker } from 'node:worker_threads';
import { StylecastError, abortError, throwIfAborted } from '../core/errors.js';
import type { WorkerReply, WorkerRequest } from './ort/protocol.js';
import type { Conditioning } from './contract.js';
import type { Device, ExecutionProvider } from './providers.js';

export interface EngineOptions {
  readonly modelPath: string;
  readonly device: Device;
  /** Intra-op threads for ONNX Runtime (0: its default, one per core). */
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

export interface InferenceResult {
  readonly input: Float32Array;
  readonly output: Float32Array;
  readonly ms: number;
}

/** A run the worker refused or failed; it hands the caller's buffers back when it still has them. */
export class InferenceRunError extends StylecastError {
  constructor(code: StylecastError['code'], message: string, readonly input: Float32Array | null, readonly output: Float32Array | null) {
    super(code, message);
  }
}

type Pending = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };

const WORKER_URL = new URL('./ort/worker.js', import.meta.url);

/**
 * The main thread's handle on one inference worker. `run()` transfers the
 * input and output buffers to the worker and gets both back, so a caller can
 * recycle them (no per-frame allocation). Requests are served in order.
 */
export class StyleEngine {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private deathError: StylecastError | null = null;
  private currentProvider: ExecutionProvider = 'cpu';
  private currentModel = '';
  private ortVersion = '';
  private currentStyleLength: number | null = null;
  private skippedProviders: ReadonlyArray<{ provider: string; reason: string }> = [];

  private constructor(private readonly worker: Worker, private readonly device: Device, private readonly threads: number) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.die(new StylecastError('INFERENCE_FAILED', `inference worker crashed: ${error.message}`)));
    worker.on('exit', (code) => {
      // After close() asked it to stop, an exit is the expected end, even when it arrives before the 'closed' reply.
      if (this.closing) this.rejectAll(StylecastError.closed('inference engine'));
      else this.die(new StylecastError('INFERENCE_FAILED', `inference worker exited (code ${code})`));
    });
  }

  static async open(options: EngineOptions): Promise<StyleEngine> {
    throwIfAborted(options.signal);
    const engine = new StyleEngine(new Worker(WORKER_URL), options.device, options.threads ?? 0);
    const onAbort = () => void engine.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await engine.loadModel(options.modelPath);
      throwIfAborted(options.signal);
      return engine;
    } catch (error) {
      await engine.close();
      if (options.signal?.aborted) throw abortError(options.signal);
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  get provider(): ExecutionProvider {
    return this.currentProvider;
  }

  get modelPath(): string {
    return this.currentModel;
  }

  get runtimeVersion(): string {
    return this.ortVersion;
  }

  /** Contract 2 (any painting): the length of the model's style vector; null for a one-style model. */
  get styleLength(): number | null {
    return this.currentStyleLength;
  }

  /** Providers passed over on the way to the one in use (auto mode). */
  get skipped(): ReadonlyArray<{ provider: string; reason: string }> {
    return this.skippedProviders;
  }

  /** Loads (or hot-swaps to) a model; frames already queued finish on the old one. */
  async loadModel(modelPath: string): Promise<void> {
    const reply = await this.request({ type: 'load', id: this.nextId++, modelPath, device: this.device, threads: this.threads });
    if (reply.type === 'loaded') {
      this.currentProvider = reply.provider;
      this.currentModel = modelPath;
      this.ortVersion = reply.ortVersion;
      this.skippedProviders = reply.skipped;
      this.currentStyleLength = reply.styleLength;
    }
  }

  /**
   * Stylizes one NCHW frame. Both buffers are transferred (unusable by the
   * caller until the promise gives them back).
   */
  async run(input: Float32Array, output: Float32Array, height: number, width: number, conditioning: Conditioning | null = null): Promise<InferenceResult> {
    const id = this.nextId++;
    const request: WorkerRequest = { type: 'run', id, input, output, height, width, conditioning };
    const reply = await this.request(request, [input.buffer as ArrayBuffer, output.buffer as ArrayBuffer]);
    if (reply.type !== 'ran') throw new StylecastError('INFERENCE_FAILED', 'unexpected reply from the inference worker');
    return { input: reply.input, output: reply.output, ms: reply.ms };
  }

  /** A painting (NCHW, [0, 1]; transferred) -> its style vector, through the model's style encoder (contract 2). */
  async encodeStyle(painting: Float32Array, height: number, width: number): Promise<Float32Array> {
    const reply = await this.request({ type: 'encode', id: this.nextId++, painting, height, width }, [painting.buffer as ArrayBuffer]);
    if (reply.type !== 'encoded') throw new StylecastError('INFERENCE_FAILED', 'unexpected reply from the inference worker');
    return reply.style;
  }

  /** Releases the session and stops the worker. Safe to call many times. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!this.deathError) {
        const id = this.nextId++;
        const done = new Promise<void>((resolve) => {
          this.pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
        });
        this.worker.postMessage({ type: 'close', id } satisfies WorkerRequest);
        const timer = setTimeout(() => void this.worker.terminate(), 2000);
        await done;
        clearTimeout(timer);
      }
      await this.worker.terminate();
      this.rejectAll(StylecastError.closed('inference engine'));
    })();
    return this.closing;
  }

  private request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closing) return Promise.reject(StylecastError.closed('inference engine'));
    if (this.deathError) return Promise.reject(this.deathError);
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    }).then((reply) => {
      const r = reply as WorkerReply;
      if (r.type === 'failed') throw new InferenceRunError(r.error.code, r.error.message, r.input ?? null, r.output ?? null);
      return r;
    });
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    pending.resolve(reply);
  }

  private die(error: StylecastError): void {
    this.deathError ??= error;
    this.rejectAll(error);
  }

  private rejectAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
