/**
 * The only module that imports onnxruntime-node. Everything else talks to ONNX
 * Runtime through these functions (and, for inference, through the worker).
 */
import { existsSync, readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { StylecastError, describeError, firstPlainLine } from '../../core/errors.js';
import { PAINTING_NAME, STYLE_NAME, contractProblems, styleLengthOf, encoderProblems, type Conditioning, type ModelSignature } from '../contract.js';
import type { Device, ExecutionProvider, Selected } from '../providers.js';
import { selectProvider } from '../providers.js';
import { providerInstalled } from './install.js';
import { KEEP_COLOUR_NAME, NotWrapped, PIXELS_NAME, STYLIZED_NAME, wrapForPixels } from './pixel-graph.js';
import { cropPixels, padPixels, rgbToTensor, tensorSizeFor, tensorToRgb } from '../pixels.js';

export type Session = ort.InferenceSession;

export interface SessionSettings {
  /** Threads inside one operator (0: ONNX Runtime's default). */
  readonly threads: number;
  /** Wrap stylizers for 8-bit pixel frames (default on; off: float tensors, converted by the worker). */
  readonly pixelGraph?: boolean;
  /** Open the colour-keeping wrap (its `keep_colour` input), not the plain one. */
  readonly keepColour?: boolean;
}

/**
 * How a stylizer session takes its frames: `pixels` (wrapped at load, 8-bit
 * pixels in and out, converted inside the graph) or `float` (the file as it
 * is; the worker converts), with the reason the wrap was not made.
 */
export type FrameIo = { readonly kind: 'pixels' } | { readonly kind: 'float'; readonly reason: string };

/** Which contract check a graph must pass: a stylizer (either form) or the style encoder of a contract-2 model. */
export type GraphRole = { readonly kind: 'stylizer' } | { readonly kind: 'encoder'; readonly styleLength: number | null };
const STYLIZER: GraphRole = { kind: 'stylizer' };

export { providerInstalled } from './install.js';

export function ortVersion(): string {
  return ort.env.versions.node ?? 'unknown';
}

function sessionOptions(provider: ExecutionProvider, settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider === 'cuda' ? { name: 'cuda', deviceId: 0 } : provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(settings.threads > 0 ? { intraOpNumThreads: settings.threads } : {}),
    // 4 = fatal only: ONNX Runtime would print its own coloured copy of every run error to stderr; ours is one line.
    logSeverityLevel: 4,
  };
}

export function signatureOf(session: Session): ModelSignature {
  const describe = (values: readonly ort.InferenceSession.ValueMetadata[]) =>
    values.map((v) => ({ name: v.name, type: v.isTensor ? v.type : 'non-tensor', shape: v.isTensor ? v.shape : null }));
  return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

function readModelFile(modelPath: string): Uint8Array {
  try {
    return readFileSync(modelPath);
  } catch (error) {
    throw new StylecastError('MODEL_NOT_FOUND', `cannot read ${modelPath}: ${describeError(error)}`);
  }
}

async function openSession(modelPath: string, provider: ExecutionProvider, settings: SessionSettings, role: GraphRole): Promise<Session> {
  if (!providerInstalled(provider)) {
    throw new StylecastError('DEVICE_UNAVAILABLE', provider === 'webgpu'
      ? 'no GPU Vulkan driver is installed (WebGPU runs on Vulkan here; Mesa\'s software one is not enough)'
      : `${provider} provider libraries are not installed`);
  }
  if (role.kind === 'stylizer' && settings.pixelGraph !== false) {
    const wrapped = await openPixelSession(modelPath, provider, settings);
    if (!(wrapped instanceof NotWrapped)) return wrapped;
    frameIoReasons.set(modelPath, wrapped.message);
  }
  let session: Session;
  try {
    session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, settings));
  } catch (error) {
    const message = describeError(error);
    if (/protobuf|parse|invalid model|model_path|load model|No graph/i.test(message) && provider === 'cpu') {
      throw new StylecastError('MODEL_INVALID', `${modelPath} is not a valid ONNX model (ONNX Runtime: ${message.slice(0, 160)})`);
    }
    throw error;
  }
  const signature = signatureOf(session);
  const problems = role.kind === 'stylizer' ? contractProblems(signature) : encoderProblems(signature, role.styleLength);
  const styleLength = role.kind === 'stylizer' ? styleLengthOf(signature) : null;
  if (styleLength !== null) styleLengths.set(session, styleLength);
  if (problems.length > 0) {
    await session.release();
    throw new StylecastError('MODEL_INVALID', `${modelPath} does not follow the model contract: ${problems.join('; ')}`);
  }
  return session;
}

/**
 * The stylizer wrapped for 8-bit pixels, or the reason it was not: a file the
 * wrap cannot read, or whose declared inputs break the contract, is opened as
 * it is, so the usual checks give the usual errors.
 */
async function openPixelSession(modelPath: string, provider: ExecutionProvider, settings: SessionSettings): Promise<Session | NotWrapped> {
  let wrapped;
  try {
    wrapped = wrapForPixels(readModelFile(modelPath), { keepColour: settings.keepColour === true });
  } catch (error) {
    if (error instanceof NotWrapped) return error;
    throw error;
  }
  if (contractProblems(wrapped.declared).length > 0) return new NotWrapped('its inputs and outputs do not follow the contract');
  let session: Session;
  try {
    session = await ort.InferenceSession.create(wrapped.bytes, sessionOptions(provider, settings));
  } catch (error) {
    return new NotWrapped(`ONNX Runtime refused the wrapped graph (${describeError(error).split('\n')[0]?.slice(0, 160)})`);
  }
  pixelSessions.add(session);
  if (settings.keepColour) colourSessions.add(session);
  const styleLength = styleLengthOf(wrapped.declared);
  if (styleLength !== null) styleLengths.set(session, styleLength);
  return session;
}

/** How the session opened last for this model takes its frames (for logs and stats). */
export function frameIoOf(session: Session, modelPath: string): FrameIo {
  return pixelSessions.has(session) ? { kind: 'pixels' } : { kind: 'float', reason: frameIoReasons.get(modelPath) ?? 'the pixel wrap is off' };
}

/** A session on the first provider of the device's order that loads. */
export function createSession(modelPath: string, device: Device, settings: SessionSettings, role: GraphRole = STYLIZER): Promise<Selected<Session>> {
  if (!existsSync(modelPath)) {
    const what = role.kind === 'encoder' ? 'style encoder' : 'model';
    return Promise.reject(new StylecastError('MODEL_NOT_FOUND', `${what} file not found: ${modelPath}`));
  }
  return selectProvider(device, (provider) => openSession(modelPath, provider, settings, role));
}

/** Opens the model on the CPU only to check it against the contract. */
export async function inspectModel(modelPath: string): Promise<ModelSignature> {
  const { value: session } = await createSession(modelPath, 'cpu', { threads: 1, pixelGraph: false });
  try {
    return signatureOf(session);
  } finally {
    await session.release();
  }
}

/** A frame's shape as ONNX Runtime prints it (NCHW, or NHWC in a pixel-wrapped graph) -> WIDTHxHEIGHT. */
function picture(shape: string): string {
  const dims = shape.split(',').map(Number);
  if (dims.length !== 4) return `{${shape}}`;
  const [height, width] = dims[1] === 3 ? [dims[2], dims[3]] : [dims[1], dims[2]];
  return `${width}x${height}`;
}

/** ONNX Runtime's run errors are long and internal: one line that says what is wrong with the model. */
export function runError(error: unknown, width: number, height: number): StylecastError {
  const text = error instanceof Error ? error.message : String(error);
  const shapes = /has shape \{([\d,]+)\} but the computed output shape for this run is \{([\d,]+)\}/.exec(text);
  if (shapes) {
    return new StylecastError('MODEL_INVALID', `the model's output is ${picture(shapes[2]!)} for a ${picture(shapes[1]!)} input: the model contract needs the output the same size as the input`);
  }
  const line = firstPlainLine(text);
  return new StylecastError('INFERENCE_FAILED', `inference failed on a ${width}x${height} frame: ${line.length > 300 ? `${line.slice(0, 300)}...` : line}`);
}

/** Contract-2 stylizers and their style length, noted when their sessions open. */
const styleLengths = new WeakMap<Session, number>();
/** Sessions wrapped for pixel frames. */
const pixelSessions = new WeakSet<Session>();
/** Pixel sessions whose wrap keeps colour (they take `keep_colour`). */
const colourSessions = new WeakSet<Session>();

/** Whether a session takes frames as 8-bit pixels (and so can be opened again with the colour-keeping wrap). */
export function takesPixels(session: Session): boolean {
  return pixelSessions.has(session);
}
/** Why a model's last session was not wrapped. */
const frameIoReasons = new Map<string, string>();

/** Frames of one size through a stylizer: packed 8-bit pixels in (RGB or RGBA), packed pixels out. */
export interface FrameRun {
  /** One or more frames, run as one batch; each `output` receives its stylized frame (RGB, or RGBA with opaque alpha). */
  readonly frames: ReadonlyArray<{ readonly pixels: Uint8Array; readonly output: Uint8Array }>;
  readonly width: number;
  readonly height: number;
  readonly inputChannels: 3 | 4;
  readonly outputChannels: 3 | 4;
  /** How much of the frame's own colour to keep, 0-1 (sessions opened with the colour-keeping wrap). */
  readonly keepColour?: number;
}

/** Buffers a worker keeps between frames of one size: padding and, for float sessions, the tensors. */
export class FrameScratch {
  private readonly buffers = new Map<string, Uint8Array | Float32Array>();

  bytes(name: string, length: number): Uint8Array {
    return this.get(name, length, () => new Uint8Array(length)) as Uint8Array;
  }

  floats(name: string, length: number): Float32Array {
    return this.get(name, length, () => new Float32Array(length)) as Float32Array;
  }

  private get(name: string, length: number, make: () => Uint8Array | Float32Array): Uint8Array | Float32Array {
    let buffer = this.buffers.get(name);
    if (!buffer || buffer.length !== length) {
      buffer = make();
      this.buffers.set(name, buffer);
    }
    return buffer;
  }
}

/**
 * Runs the model on a batch of frames of one size (N >= 1 in one call: the
 * contract's batch dimension), writing each stylized frame into its `output`.
 * A contract-2 stylizer also takes a style vector and strength (without them:
 * strength 0, the frame through the model unpainted) and runs its frames one
 * at a time (its conditioning has batch 1); a one-style model ignores them.
 */
export async function runFrames(session: Session, run: FrameRun, scratch: FrameScratch, conditioning: Conditioning | null = null): Promise<void> {
  const { width, height, inputChannels, outputChannels, frames } = run;
  const count = frames.length;
  const badBuffers = frames.some((f) => f.pixels.length !== width * height * inputChannels || f.output.length !== width * height * outputChannels);
  if (!(width > 0 && height > 0) || count === 0 || badBuffers) {
    const first = frames[0];
    throw new StylecastError('INFERENCE_FAILED', `frame buffers do not match a ${width}x${height} frame (${first?.pixels.length ?? 0} bytes in, ${first?.output.length ?? 0} out, ${count} frames)`);
  }
  const styleLength = styleLengths.get(session) ?? null;
  if (styleLength !== null && count > 1) {
    for (const one of frames) await runFrames(session, { ...run, frames: [one] }, scratch, conditioning);
    return;
  }
  const { tensorWidth, tensorHeight } = tensorSizeFor({ width, height });
  const padded = tensorWidth !== width || tensorHeight !== height;
  const feeds: Record<string, ort.Tensor> = {};
  if (styleLength !== null) {
    // An any-painting model before its painting arrives (or during a model switch) shows the frame as it is.
    const { style, strength } = conditioning ?? { style: new Float32Array(styleLength), strength: 0 };
    if (style.length !== styleLength) throw new StylecastError('USAGE', `the style vector has ${style.length} numbers; this model takes ${styleLength}`);
    feeds.style = new ort.Tensor('float32', style, [1, styleLength]);
    feeds.strength = new ort.Tensor('float32', new Float32Array([strength]), [1]);
  }
  const run1 = async (fetches: Record<string, ort.Tensor>, name: string): Promise<ort.Tensor['data']> => {
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(feeds, fetches);
    } catch (error) {
      throw runError(error, tensorWidth, tensorHeight);
    }
    const given = fetches[name]!.data;
    const produced = result[name]?.data;
    if (produced && produced !== given) {
      if (produced.length !== given.length) throw new StylecastError('INFERENCE_FAILED', `model returned ${produced.length} values for ${given.length} expected`);
      (given as Uint8Array | Float32Array).set(produced as Uint8Array & Float32Array);
    }
    return given;
  };

  const tensorPixels = tensorWidth * tensorHeight;
  if (pixelSessions.has(session)) {
    const inBytes = tensorPixels * inputChannels;
    const outBytes = tensorPixels * 3;
    // One frame at its own size goes in and comes out without a copy; a batch or a padded frame is gathered and scattered.
    const direct = count === 1 && !padded;
    const batchIn = direct ? frames[0]!.pixels : scratch.bytes('in', inBytes * count);
    if (!direct) {
      frames.forEach((f, i) => {
        const slot = batchIn.subarray(i * inBytes, (i + 1) * inBytes);
        if (padded) padPixels(f.pixels, width, height, inputChannels, slot, tensorWidth, tensorHeight);
        else slot.set(f.pixels);
      });
    }
    const directOut = direct && outputChannels === 3;
    const batchOut = directOut ? frames[0]!.output : scratch.bytes('out', outBytes * count);
    feeds[PIXELS_NAME] = new ort.Tensor('uint8', batchIn, [count, tensorHeight, tensorWidth, inputChannels]);
    if (colourSessions.has(session)) feeds[KEEP_COLOUR_NAME] = new ort.Tensor('float32', new Float32Array([run.keepColour ?? 0]), [1]);
    await run1({ [STYLIZED_NAME]: new ort.Tensor('uint8', batchOut, [count, tensorHeight, tensorWidth, 3]) }, STYLIZED_NAME);
    if (!directOut) {
      frames.forEach((f, i) => cropPixels(batchOut.subarray(i * outBytes, (i + 1) * outBytes), tensorWidth, tensorHeight, width, height, f.output, outputChannels));
    }
    return;
  }
  const floatsPerFrame = tensorPixels * 3;
  const input = scratch.floats('input', floatsPerFrame * count);
  const output = scratch.floats('output', input.length);
  frames.forEach((f, i) => rgbToTensor(f.pixels, width, height, input.subarray(i * floatsPerFrame, (i + 1) * floatsPerFrame), tensorWidth, tensorHeight, inputChannels));
  const dims = [count, 3, tensorHeight, tensorWidth];
  feeds.input = new ort.Tensor('float32', input, dims);
  await run1({ output: new ort.Tensor('float32', output, dims) }, 'output');
  frames.forEach((f, i) => tensorToRgb(output.subarray(i * floatsPerFrame, (i + 1) * floatsPerFrame), tensorWidth, tensorHeight, width, height, f.output, outputChannels));
}

/** A painting (NCHW, [0, 1]) through a style encoder: its style vector. */
export async function encodeStyle(session: Session, painting: Float32Array, height: number, width: number): Promise<Float32Array> {
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run({ [PAINTING_NAME]: new ort.Tensor('float32', painting, [1, 3, height, width]) });
  } catch (error) {
    throw runError(error, width, height);
  }
  const style = result[STYLE_NAME]?.data;
  if (!(style instanceof Float32Array) || style.length === 0) throw new StylecastError('INFERENCE_FAILED', 'the style encoder returned no style vector');
  if (!style.every(Number.isFinite)) throw new StylecastError('INPUT_INVALID', 'the painting gave a style vector with non-finite numbers');
  return style.slice();
}
