/**
 * The only module that imports onnxruntime-node. Everything else talks to ONNX
 * Runtime through these functions (and, for inference, through the worker).
 */
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { StylecastError, describeError } from '../../core/errors.js';
import { PAINTING_NAME, STYLE_NAME, contractProblems, styleLengthOf, encoderProblems, type Conditioning, type ModelSignature } from '../contract.js';
import type { Device, ExecutionProvider, Selected } from '../providers.js';
import { selectProvider } from '../providers.js';
import { providerInstalled } from './install.js';

export type Session = ort.InferenceSession;

export interface SessionSettings {
  /** Threads inside one operator (0: ONNX Runtime's default). */
  readonly threads: number;
}

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

async function openSession(modelPath: string, provider: ExecutionProvider, settings: SessionSettings, role: GraphRole): Promise<Session> {
  if (!providerInstalled(provider)) {
    throw new StylecastError('DEVICE_UNAVAILABLE', provider === 'webgpu'
      ? 'no GPU Vulkan driver is installed (WebGPU runs on Vulkan here; Mesa\'s software one is not enough)'
      : `${provider} provider libraries are not installed`);
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
  const { value: session } = await createSession(modelPath, 'cpu', { threads: 1 });
  try {
    return signatureOf(session);
  } finally {
    await session.release();
  }
}

/** ONNX Runtime's run errors are long and internal: one line that says what is wrong with the model. */
export function runError(error: unknown, width: number, height: number): StylecastError {
  const text = error instanceof Error ? error.message : String(error);
  const shapes = /has shape \{([\d,]+)\} but the computed output shape for this run is \{([\d,]+)\}/.exec(text);
  if (shapes) {
    return new StylecastError('MODEL_INVALID', `the model's output is {${shapes[2]}} for a {${shapes[1]}} input: the model contract needs the output the same size as the input`);
  }
  const line = (text.split('\n')[0] ?? '').replace(/\x1b\[[0-9;]*m/g, '').trim();
  return new StylecastError('INFERENCE_FAILED', `inference failed on a ${width}x${height} frame: ${line.length > 300 ? `${line.slice(0, 300)}...` : line}`);
}

/** Contract-2 stylizers and their style length, noted when their sessions open. */
const styleLengths = new WeakMap<Session, number>();

/**
 * Runs the model on one NCHW frame, writing into `output` (same length as
 * input). A contract-2 stylizer also takes a style vector and strength
 * (without them: strength 0, the frame through the model unpainted); a
 * one-style model ignores them.
 */
export async function runFrame(
  session: Session,
  input: Float32Array,
  output: Float32Array,
  height: number,
  width: number,
  conditioning: Conditioning | null = null,
): Promise<void> {
  const dims = [1, 3, height, width];
  const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', input, dims) };
  const styleLength = styleLengths.get(session) ?? null;
  if (styleLength !== null) {
    // An any-painting model before its painting arrives (or during a model switch) shows the frame as it is.
    const { style, strength } = conditioning ?? { style: new Float32Array(styleLength), strength: 0 };
    if (style.length !== styleLength) throw new StylecastError('USAGE', `the style vector has ${style.length} numbers; this model takes ${styleLength}`);
    feeds.style = new ort.Tensor('float32', style, [1, styleLength]);
    feeds.strength = new ort.Tensor('float32', new Float32Array([strength]), [1]);
  }
  const fetches = { output: new ort.Tensor('float32', output, dims) };
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run(feeds, fetches);
  } catch (error) {
    throw runError(error, width, height);
  }
  const produced = result.output?.data as Float32Array | undefined;
  if (produced && produced !== output) {
    if (produced.length !== output.length) {
      throw new StylecastError('INFERENCE_FAILED', `model returned ${produced.length} values for ${output.length} expected`);
    }
    output.set(produced);
  }
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
