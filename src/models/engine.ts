import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StylecastError, abortError, describeError, throwIfAborted } from '../core/errors.js';
import type { WorkerReply, WorkerRequest } from './ort/protocol.js';
import type { Conditioning } from './contract.js';
import type { Device, ExecutionProvider } from './providers.js';
import type { FrameIo } from './ort/runtime.js';

export interface EngineOptions {
  readonly modelPath: string;
  readonly device: Device;
  /** ONNX Runtime's threads, shared by all lanes (0: one per core). */
  readonly threads?: number;
  /**
   * Sessions run side by side (0: auto, see planLanes; 1: one session). On a GPU
   * only a count above 1 given here opens more than one (see lanesToOpen).
   */
  readonly lanes?: number;
  /**
   * The most frames one run takes (default 1). Above 1, frames that wait while
   * every lane is busy go to the next free lane together, as one batch
   * (contract 1's batch dimension); a caller with one frame in flight (live)
   * is never held back for a batch to fill. Contract-2 models run N = 1.
   */
  readonly batch?: number;
  readonly signal?: AbortSignal;
  /**
   * Wrap the stylizer so frames cross into it as 8-bit pixels and the conversion runs
   * inside the graph (default true). Off: float tensors, converted in the worker.
   */
  readonly pixelGraph?: boolean;
  /**
   * The file to run instead when a model lands on a GPU provider (its fp16 variant), or
   * null to keep it; asked at every load, so live style switches follow it too. Absent:
   * every model runs as given (`--fp32`).
   */
  readonly gpuVariant?: (modelPath: string) => string | null;
  /**
   * How long close() waits for a frame in flight before it lets the worker go (default 2 s).
   * The worker is never terminated inside a run: it finishes the frame and ends itself.
   */
  readonly closeDeadlineMs?: number;
}

/** How a stylizer opens its engine: StyleEngine.open, or another source of engines (a test's, which injects faults). */
export type EngineFactory = (options: EngineOptions) => Promise<StyleEngine>;

/** One frame for run(): packed 8-bit pixels and where the stylized frame goes. */
export interface EngineFrame {
  readonly width: number;
  readonly height: number;
  /** Exactly width x height x inputChannels bytes; transferred to the worker and back. */
  readonly input: Uint8Array;
  readonly inputChannels: 3 | 4;
  /** Exactly width x height x outputChannels bytes; transferred too. */
  readonly output: Uint8Array;
  readonly outputChannels: 3 | 4;
  /** How much of the frame's own colour the result keeps, 0-1 (default 0: the painting's colours). */
  readonly keepColour?: number;
}

export interface InferenceResult {
  readonly input: Uint8Array;
  readonly output: Uint8Array;
  /** The run's time in the worker, shared evenly among the frames of its batch. */
  readonly ms: number;
}

/** Runs sent to the workers and the frames they carried (frames / runs = the mean batch). */
export interface BatchCounts {
  readonly runs: number;
  readonly frames: number;
}

/** The most frames one run may take (a sanity bound: memory grows with it). */
export const MAX_BATCH = 64;

/** A run the worker refused or failed; it hands the caller's buffers back when it still has them. */
export class InferenceRunError extends StylecastError {
  constructor(code: StylecastError['code'], message: string, readonly input: Uint8Array | null, readonly output: Uint8Array | null) {
    super(code, message);
  }
}

type Pending = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };

const WORKER_URL = new URL('./ort/worker.js', import.meta.url);

/** How many sessions run side by side, and ONNX Runtime's intra-op threads in each. */
export interface LanePlan {
  readonly lanes: number;
  /** 0: ONNX Runtime's default (one per core). */
  readonly threadsPerLane: number;
}

/**
 * On a CPU, two sessions with one thread each stylize more frames a second
 * than one session with two threads (small convolutions scale poorly across
 * threads, and each frame is independent): measured 50 vs 30-37 fps for
 * candy-fast at 640x360 on 2 cores. `threads` is the whole budget (0: one per
 * core); `lanes` 0 picks two lanes when there are two threads to share.
 */
export function planLanes(request: { lanes: number; threads: number; cores: number }): LanePlan {
  const budget = request.threads > 0 ? request.threads : Math.max(1, request.cores);
  const lanes = request.lanes > 0 ? request.lanes : Math.min(2, budget);
  if (request.lanes === 1 && request.threads === 0) return { lanes: 1, threadsPerLane: 0 };
  return { lanes, threadsPerLane: Math.max(1, Math.floor(budget / lanes)) };
}

/**
 * How many lanes open once the provider is known. On the CPU the plan's (two
 * sessions beat one with two threads). On a GPU one, unless more were asked
 * for: several sessions on one GPU each get their own stream, so one frame's
 * copies can overlap another's kernels, but whether that pays is for the GPU
 * bench to say, so it is a choice (`--lanes`), not a default. WebGPU always
 * gets one: onnxruntime-node crashed the whole process (a segfault) as soon as
 * two WebGPU sessions ran side by side on an H200, and one session with a batch
 * of 4 ran at 0.40x of one frame at a time there (bench/results/gpu/2026-12-04).
 */
export function lanesToOpen(provider: ExecutionProvider, requested: number, plan: LanePlan): number {
  if (provider === 'cpu') return plan.lanes;
  if (provider === 'webgpu') return 1;
  return requested > 1 ? requested : 1;
}

/** Why fewer lanes opened than were asked for, or null when the request was met. */
export function lanesNote(provider: ExecutionProvider, requested: number, opened: number): string | null {
  if (requested > 1 && opened < requested && provider === 'webgpu') return 'one lane: WebGPU sessions side by side crash ONNX Runtime';
  return null;
}

/** A batch size from options: a whole number from 1 to MAX_BATCH. */
export function checkBatch(batch: number): number {
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) {
    throw new StylecastError('USAGE', `batch must be a whole number from 1 to ${MAX_BATCH}, got ${batch}`);
  }
  return batch;
}

/** A frame waiting for a lane, to run alone or in a batch with the frames queued beside it. */
interface QueuedRun {
  readonly frame: EngineFrame;
  readonly conditioning: Conditioning | null;
  readonly resolve: (result: InferenceResult) => void;
  readonly reject: (error: Error) => void;
}

function sameBatch(a: QueuedRun, b: QueuedRun): boolean {
  return a.frame.width === b.frame.width && a.frame.height === b.frame.height && a.frame.inputChannels === b.frame.inputChannels
    && a.frame.outputChannels === b.frame.outputChannels && a.conditioning === b.conditioning && (a.frame.keepColour ?? 0) === (b.frame.keepColour ?? 0);
}

/**
 * Which file runs once the provider is known: on a GPU, the model's fp16 variant when
 * it has one (half the memory traffic; instance-norm statistics stay fp32 in our
 * exports); on the CPU always the model itself (ONNX Runtime's CPU kernels have no
 * fast fp16 path: it would only add casts).
 */
export function fileForProvider(provider: ExecutionProvider, modelPath: string, gpuVariant: ((modelPath: string) => string | null) | undefined): string {
  if (provider === 'cpu' || !gpuVariant) return modelPath;
  return gpuVariant(modelPath) ?? modelPath;
}

/** Workers let go inside a run (see Lane.close), until they have ended themselves. */
const lettingGo = new Set<Promise<void>>();

/**
 * Resolves when every worker let go inside a run has finished its frame and ended. A process
 * must not exit before (exiting terminates them inside the run, which aborts it): the CLI waits here.
 */
export function workersLetGo(): { count: number; ended: Promise<void> } {
  return { count: lettingGo.size, ended: Promise.all([...lettingGo]).then(() => undefined) };
}

/** One inference worker thread and the requests it has not answered yet (served in order). */
class Lane {
  readonly pending = new Map<number, Pending>();
  runsInFlight = 0;
  private closing: Promise<void> | null = null;

  constructor(readonly worker: Worker, private readonly onDeath: (error: StylecastError) => void) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.onDeath(new StylecastError('INFERENCE_FAILED', `inference worker crashed: ${error.message}`)));
    worker.on('exit', (code) => {
      // After close() asked it to stop, an exit is the expected end, even when it arrives before the 'closed' reply.
      if (this.closing) this.rejectAll(StylecastError.closed('inference engine'));
      else this.onDeath(new StylecastError('INFERENCE_FAILED', `inference worker exited (code ${code})`));
    });
  }

  /** The worker's reply, a 'failed' one included (a failed run hands its buffers back in it). */
  request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  /**
   * Asks the worker to release its sessions, then ends it. A worker still inside a run
   * when the deadline passes is let go, not terminated: terminating a thread inside
   * ONNX Runtime's run aborts the whole process (the binding throws across threads),
   * so it finishes its frame, reads the close queued behind it and ends itself.
   */
  close(id: number, workerAlive: boolean, deadlineMs: number): Promise<void> {
    this.closing ??= (async () => {
      if (workerAlive) {
        const replied = new Promise<boolean>((resolve) => {
          this.pending.set(id, { resolve: () => resolve(true), reject: () => resolve(true) });
        });
        this.worker.postMessage({ type: 'close', id } satisfies WorkerRequest);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), deadlineMs); });
        const inTime = await Promise.race([replied, late]);
        clearTimeout(timer);
        if (!inTime && this.runsInFlight > 0) {
          const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
          lettingGo.add(exited);
          void exited.then(() => lettingGo.delete(exited));

          this.rejectAll(StylecastError.closed('inference engine'));
          return;
        }
      }
      await this.worker.terminate();
      this.rejectAll(StylecastError.closed('inference engine'));
    })();
    return this.closing;
  }

  rejectAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    pending.resolve(reply);
  }
}

/**
 * The main thread's handle on inference: one worker thread per lane, each
 * with its own ONNX Runtime session of the same model. `run()` transfers the
 * input and output buffers to the least busy lane and gets both back, so a
 * caller can recycle them (no per-frame allocation). Each lane serves its
 * requests in order; with more than one lane, runs may finish out of order
 * and a caller that needs order awaits them in order. Lanes beyond the first
 * open only on the CPU provider (a GPU session is not shared this way).
 */
export class StyleEngine {
  private readonly lanes: Lane[] = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private deathError: StylecastError | null = null;
  private currentProvider: ExecutionProvider = 'cpu';
  private currentModel = '';
  private ortVersion = '';
  private currentStyleLength: number | null = null;
  private skippedProviders: ReadonlyArray<{ provider: string; reason: string }> = [];
  private currentFrameIo: FrameIo = { kind: 'float', reason: 'no model loaded' };
  private runningFile = '';
  private inferenceNiceness: number | null = null;
  private gpuVariant: ((modelPath: string) => string | null) | undefined;
  /** Frames per run for the loaded model: the asked batch, or 1 for a contract-2 model. */
  private batchLimit = 1;
  private readonly waiting: QueuedRun[] = [];
  private runsSent = 0;
  private framesSent = 0;

  private constructor(
    private readonly device: Device,
    private readonly plan: LanePlan,
    private readonly closeDeadlineMs: number,
    private readonly pixelGraph: boolean,
    private readonly maxBatch: number,
  ) {}

  static async open(options: EngineOptions): Promise<StyleEngine> {
    throwIfAborted(options.signal);
    const plan = planLanes({ lanes: options.lanes ?? 0, threads: options.threads ?? 0, cores: availableParallelism() });
    const engine = new StyleEngine(options.device, plan, options.closeDeadlineMs ?? 2000, options.pixelGraph ?? true, checkBatch(options.batch ?? 1));
    engine.gpuVariant = options.gpuVariant;
    engine.addLane();
    const onAbort = () => void engine.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await engine.loadModel(options.modelPath);
      throwIfAborted(options.signal);
      const lanes = lanesToOpen(engine.provider, options.lanes ?? 0, plan);
      if (lanes > 1) {
        const more = Array.from({ length: lanes - 1 }, () => engine.addLane());
        await Promise.all(more.map((lane) => engine.loadOn(lane, engine.runningModelPath, engine.provider)));
        throwIfAborted(options.signal);
      }
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

  /** The model asked for (a restart or a switch names this one). */
  get modelPath(): string {
    return this.currentModel;
  }

  /** The file the sessions run: the model, or its fp16 variant on a GPU. */
  get runningModelPath(): string {
    return this.runningFile;
  }

  get runtimeVersion(): string {
    return this.ortVersion;
  }

  /** Sessions running side by side. */
  get laneCount(): number {
    return this.lanes.length;
  }

  /** The most frames one run takes for the loaded model. */
  get batch(): number {
    return this.batchLimit;
  }

  /** Runs sent so far and the frames they carried. */
  get batchCounts(): BatchCounts {
    return { runs: this.runsSent, frames: this.framesSent };
  }

  /** ONNX Runtime's intra-op threads in each lane (0: its default). */
  get threadsPerLane(): number {
    return this.plan.threadsPerLane;
  }

  /** Contract 2 (any painting): the length of the model's style vector; null for a one-style model. */
  get styleLength(): number | null {
    return this.currentStyleLength;
  }

  /** The inference threads' nice value (they yield to decoding and encoding), or null. */
  get niceness(): number | null {
    return this.inferenceNiceness;
  }

  /** Whether frames cross into the model as 8-bit pixels (converted inside the graph), or why not. */
  get frameIo(): FrameIo {
    return this.currentFrameIo;
  }

  /** Providers passed over on the way to the one in use (auto mode). */
  get skipped(): ReadonlyArray<{ provider: string; reason: string }> {
    return this.skippedProviders;
  }

  /**
   * Loads (or hot-swaps to) a model; frames already queued finish on the old
   * one. The first lane loads it first (a bad model changes nothing); a later
   * lane that fails where the first succeeded ends the engine.
   */
  async loadModel(modelPath: string): Promise<void> {
    const [first, ...rest] = this.lanes;
    if (!first) throw StylecastError.closed('inference engine');
    let reply = await this.loadOn(first, modelPath, this.device);
    let file = modelPath;
    const variant = fileForProvider(reply.provider, modelPath, this.gpuVariant);
    if (variant !== modelPath) {
      // The variant on the provider the model found; if it will not load there, the model as it is stays.
      reply = await this.loadOn(first, variant, reply.provider).then((loaded) => {
        file = variant;
        return loaded;
      }, () => reply);
    }
    try {
      await Promise.all(rest.map((lane) => this.loadOn(lane, file, reply.provider)));
    } catch (error) {
      const failure = new StylecastError('INFERENCE_FAILED', `inference lanes disagree after a model load: ${describeError(error)}`);
      this.die(failure);
      throw failure;
    }
    this.currentProvider = reply.provider;
    this.currentModel = modelPath;
    this.runningFile = file;
    this.ortVersion = reply.ortVersion;
    this.skippedProviders = reply.skipped;
    this.currentStyleLength = reply.styleLength;
    this.currentFrameIo = reply.frameIo;
    this.inferenceNiceness = reply.niceness;
    this.batchLimit = reply.styleLength === null ? this.maxBatch : 1;
  }

  /**
   * Stylizes one frame. Both buffers are transferred (unusable by the caller
   * until the promise gives them back, or the InferenceRunError of a failed run).
   */
  run(frame: EngineFrame, conditioning: Conditioning | null = null): Promise<InferenceResult> {
    if (this.closing) return Promise.reject(StylecastError.closed('inference engine'));
    if (this.deathError) return Promise.reject(this.deathError);
    const keep = frame.keepColour ?? 0;
    if (!(keep >= 0 && keep <= 1)) return Promise.reject(new StylecastError('USAGE', `keepColour must be from 0 to 1, got ${keep}`));
    return new Promise<InferenceResult>((resolve, reject) => {
      const queued: QueuedRun = { frame, conditioning, resolve, reject };
      if (this.batchLimit === 1) {
        // One frame per run: straight to the least busy lane, whose worker queues it (no round trip between frames).
        void this.send(this.leastBusyLane(), [queued]);
        return;
      }
      this.waiting.push(queued);
      this.pump();
    });
  }

  /** Gives every idle lane the frames waiting for it, up to a batch each, the oldest first. */
  private pump(): void {
    for (const lane of this.lanes) {
      if (this.waiting.length === 0) return;
      if (lane.runsInFlight > 0) continue;
      const first = this.waiting[0]!;
      let count = 1;
      while (count < this.batchLimit && count < this.waiting.length && sameBatch(first, this.waiting[count]!)) count++;
      void this.send(lane, this.waiting.splice(0, count));
    }
  }

  private async send(lane: Lane, batch: readonly QueuedRun[]): Promise<void> {
    const { width, height, inputChannels, outputChannels } = batch[0]!.frame;
    const frames = batch.map(({ frame }) => ({ input: frame.input, output: frame.output }));
    const keepColour = batch[0]!.frame.keepColour ?? 0;
    const request: WorkerRequest = { type: 'run', id: this.nextId++, frames, inputChannels, outputChannels, height, width, conditioning: batch[0]!.conditioning, keepColour };
    lane.runsInFlight++;
    this.runsSent++;
    this.framesSent += batch.length;
    try {
      const reply = await this.request(lane, request, frames.flatMap((f) => [f.input.buffer as ArrayBuffer, f.output.buffer as ArrayBuffer]));
      if (reply.type === 'failed') {
        batch.forEach((queued, i) => {
          const back = reply.frames?.[i];
          queued.reject(new InferenceRunError(reply.error.code, reply.error.message, back?.input ?? null, back?.output ?? null));
        });
        return;
      }
      if (reply.type !== 'ran' || reply.frames.length !== batch.length) throw new StylecastError('INFERENCE_FAILED', 'unexpected reply from the inference worker');
      const ms = reply.ms / batch.length;
      batch.forEach((queued, i) => queued.resolve({ input: reply.frames[i]!.input, output: reply.frames[i]!.output, ms }));
    } catch (error) {
      for (const queued of batch) queued.reject(error as Error);
    } finally {
      lane.runsInFlight--;
      if (this.waiting.length > 0) this.pump();
    }
  }

  /** A painting (NCHW, [0, 1]; transferred) -> its style vector, through the model's style encoder (contract 2). */
  async encodeStyle(painting: Float32Array, height: number, width: number): Promise<Float32Array> {
    const reply = await this.requestOrThrow(this.leastBusyLane(), { type: 'encode', id: this.nextId++, painting, height, width }, [painting.buffer as ArrayBuffer]);
    if (reply.type !== 'encoded') throw new StylecastError('INFERENCE_FAILED', 'unexpected reply from the inference worker');
    return reply.style;
  }

  /** Releases every session and stops every worker. Safe to call many times. */
  close(): Promise<void> {
    this.rejectWaiting(StylecastError.closed('inference engine'));
    this.closing ??= Promise.all(this.lanes.map((lane) => lane.close(this.nextId++, !this.deathError, this.closeDeadlineMs))).then(() => undefined);
    return this.closing;
  }

  private addLane(): Lane {
    const lane = new Lane(new Worker(WORKER_URL), (error) => this.die(error));
    this.lanes.push(lane);
    return lane;
  }

  private async loadOn(lane: Lane, modelPath: string, device: Device): Promise<Extract<WorkerReply, { type: 'loaded' }>> {
    const reply = await this.requestOrThrow(lane, { type: 'load', id: this.nextId++, modelPath, device, threads: this.plan.threadsPerLane, pixelGraph: this.pixelGraph });
    if (reply.type !== 'loaded') throw new StylecastError('INFERENCE_FAILED', 'unexpected reply from the inference worker');
    return reply;
  }

  private leastBusyLane(): Lane {
    let best = this.lanes[0];
    if (!best) throw StylecastError.closed('inference engine');
    for (const lane of this.lanes) if (lane.runsInFlight < best.runsInFlight) best = lane;
    return best;
  }

  private request(lane: Lane, message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closing) return Promise.reject(StylecastError.closed('inference engine'));
    if (this.deathError) return Promise.reject(this.deathError);
    return lane.request(message, transfer);
  }

  /** A request whose failure is an error (loads, style encodings). */
  private async requestOrThrow(lane: Lane, message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const reply = await this.request(lane, message, transfer);
    if (reply.type === 'failed') throw new InferenceRunError(reply.error.code, reply.error.message, null, null);
    return reply;
  }

  private rejectWaiting(error: Error): void {
    for (const queued of this.waiting.splice(0)) queued.reject(error);
  }

  private die(error: StylecastError): void {
    this.deathError ??= error;
    this.rejectWaiting(this.deathError);
    for (const lane of this.lanes) lane.rejectAll(this.deathError);
  }
}
