import { StylecastError } from '../core/errors.js';
import { CONTRACT_VERSION } from './contract.js';

export interface StyleCredit {
  readonly painting: string;
  readonly artist: string;
  readonly year: string;
  readonly licence: string;
  readonly source?: string;
}

export interface ModelManifest {
  readonly id: string;
  readonly title: string;
  readonly contract: number;
  readonly file: string;
  readonly sha256?: string;
  readonly listed: boolean;
  readonly style?: StyleCredit;
  readonly network?: Record<string, unknown>;
  readonly training?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
  readonly runtime?: { readonly preferredHeight?: number; readonly modelScale?: number };
  /** A variant of another model: 'fast' (pruned, run at a lower internal scale) or 'fp16'. */
  readonly variant?: 'quality' | 'fast' | 'fp16';
  readonly variantOf?: string;
  readonly preview?: string;
}

export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** Parses and checks one manifest; errors name the file and the field. */
export function parseManifest(text: string, file: string, expectedId: string): ModelManifest {
  const fail = (what: string) => new StylecastError('MODEL_INVALID', `${file}: ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('must be a JSON object');
  const m = value as Record<string, unknown>;
  const str = (key: string) => {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) throw fail(`"${key}" must be a non-empty string`);
    return m[key] as string;
  };
  const id = str('id');
  if (!MODEL_ID_PATTERN.test(id)) throw fail(`"id" "${id}" may only use a-z, 0-9, '.', '_' and '-'`);
  if (id !== expectedId) throw fail(`"id" is "${id}" but the file is named for "${expectedId}"`);
  const title = str('title');
  const file_ = str('file');
  if (file_ !== `${id}.onnx`) throw fail(`"file" must be "${id}.onnx", found "${file_}"`);
  if (m.contract !== CONTRACT_VERSION) throw fail(`"contract" must be ${CONTRACT_VERSION}, found ${JSON.stringify(m.contract)}`);
  if (m.listed !== undefined && typeof m.listed !== 'boolean') throw fail('"listed" must be true or false');
  const objectOrUndefined = (key: string) => {
    const v = m[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(`"${key}" must be an object`);
    return v as Record<string, unknown>;
  };
  const runtime = objectOrUndefined('runtime');
  if (runtime?.preferredHeight !== undefined) {
    const h = runtime.preferredHeight;
    if (typeof h !== 'number' || !Number.isInteger(h) || h < 4) throw fail('"runtime.preferredHeight" must be an integer >= 4');
  }
  if (runtime?.modelScale !== undefined) {
    const scale = runtime.modelScale;
    if (typeof scale !== 'number' || !(scale > 0 && scale <= 1)) throw fail('"runtime.modelScale" must be a number in (0, 1]');
  }
  if (m.variant !== undefined && !['quality', 'fast', 'fp16'].includes(m.variant as string)) throw fail('"variant" must be "quality", "fast" or "fp16"');
  if (m.variantOf !== undefined && (typeof m.variantOf !== 'string' || !MODEL_ID_PATTERN.test(m.variantOf))) throw fail('"variantOf" must be a model id');
  const style = objectOrUndefined('style');
  return {
    id,
    title,
    contract: CONTRACT_VERSION,
    file: file_,
    ...(typeof m.sha256 === 'string' ? { sha256: m.sha256 } : {}),
    listed: m.listed !== false,
    ...(style ? { style: style as unknown as StyleCredit } : {}),
    ...(objectOrUndefined('network') ? { network: objectOrUndefined('network') } : {}),
    ...(objectOrUndefined('training') ? { training: objectOrUndefined('training') } : {}),
    ...(objectOrUndefined('metrics') ? { metrics: objectOrUndefined('metrics') } : {}),
    ...(runtime ? { runtime: runtime as ModelManifest['runtime'] } : {}),
    ...(m.variant ? { variant: m.variant as ModelManifest['variant'] } : {}),
    ...(m.variantOf ? { variantOf: m.variantOf as string } : {}),
    ...(typeof m.preview === 'string' ? { preview: m.preview } : {}),
  };
}
