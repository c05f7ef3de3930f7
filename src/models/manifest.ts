import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { StylecastError } from '../core/errors.js';
import { stringifyLike } from '../core/json-text.js';

export interface StyleCredit {
  readonly painting: string;
  readonly artist: string;
  readonly year: string;
  readonly licence: string;
  readonly source?: string;
}

export interface ArbitraryStyle {
  /** `<id>.style.onnx`: painting -> style vector. */
  readonly encoder: string;
  readonly styleLength: number;
  /** The painting's short side when its style vector is taken. */
  readonly paintingSize: number;
}

/**
 * A manifest as docs/model-manifest.schema.json defines it. Fields the schema
 * does not name are kept (the trainer adds figures without a runtime change).
 */
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
  readonly runtime?: { readonly modelScale?: number; readonly fastModelScale?: number; readonly nativeShortSide?: number };
  /** A variant of another model: 'fast' (pruned, run at a lower model scale) or 'fp16'. */
  readonly variant?: 'quality' | 'fast' | 'fp16';
  readonly variantOf?: string;
  readonly preview?: string;
  /** Contract 2 (any painting): the style encoder beside the stylizer. */
  readonly arbitrary?: ArbitraryStyle;
  readonly [unknown: string]: unknown;
}

/** The one schema, shared with the trainer (dist/models -> ../../docs). */
export const MANIFEST_SCHEMA_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'model-manifest.schema.json');
const schema = JSON.parse(readFileSync(MANIFEST_SCHEMA_PATH, 'utf8')) as { properties: { contract: { const: number } } };
const validate = new Ajv({ allErrors: false, strict: false }).compile(schema);

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const where = field ? `"${field}"` : 'the manifest';
  if (error.keyword === 'required') return `"${String(error.params.missingProperty)}" is required`;
  if (error.keyword === 'const') return `${where} must be ${JSON.stringify(error.params.allowedValue)}`;
  if (error.keyword === 'enum') return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Parses and checks one manifest against the schema; errors name the file and the field. */
export function parseManifest(text: string, file: string, expectedId: string): ModelManifest {
  const fail = (what: string) => new StylecastError('MODEL_INVALID', `${file}: ${what}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('must be a JSON object');
  if (!validate(value)) throw fail(describe(validate.errors![0]!));
  const m = value as ModelManifest;
  if (m.id !== expectedId) throw fail(`"id" is "${m.id}" but the file is named for "${expectedId}"`);
  if (m.file !== `${m.id}.onnx`) throw fail(`"file" must be "${m.id}.onnx", found "${m.file}"`);
  if (m.arbitrary && m.arbitrary.encoder !== `${m.id}.style.onnx`) throw fail(`"arbitrary.encoder" must be "${m.id}.style.onnx", found "${m.arbitrary.encoder}"`);
  return { ...m, listed: m.listed !== false };
}

/**
 * Changes a manifest on disk: reads it, applies `change`, validates the result
 * against the schema, and replaces the file atomically (nothing is written if
 * the result is invalid).
 */
export async function updateManifest(path: string, change: (manifest: Record<string, unknown>) => void): Promise<void> {
  const text = await readFile(path, 'utf8');
  const manifest = JSON.parse(text) as Record<string, unknown>;
  change(manifest);
  const id = basename(path, '.json');
  parseManifest(JSON.stringify(manifest), path, id);
  // The trainer wrote most of the file: its numbers keep their spelling, so the diff is the change.
  await writeFile(`${path}.tmp`, `${stringifyLike(text, manifest)}\n`);
  await rename(`${path}.tmp`, path);
}

/** The sha256 of a file, hex. */
export function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}
