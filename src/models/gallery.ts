import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StylecastError } from '../core/errors.js';
import { BUNDLED_MODELS_DIR } from './registry.js';

/** A public-domain painting shipped for one-click use with the any-painting model. */
export interface GalleryPainting {
  readonly id: string;
  readonly title: string;
  readonly artist: string;
  readonly year: string;
  readonly licence: string;
  /** Absolute path of the image (JPEG). */
  readonly path: string;
}

export const BUNDLED_GALLERY_DIR = join(BUNDLED_MODELS_DIR, 'gallery');
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const FILE = /^[a-z0-9][a-z0-9-]{0,63}\.jpg$/;

function text(value: unknown, field: string, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new StylecastError('MODEL_INVALID', `${where}: "${field}" must be a non-empty string`);
  return value;
}

/**
 * The paintings listed in `<dir>/gallery.json`. Ids and file names are checked
 * against a strict pattern, so a request for a gallery painting never names a
 * path of its own; a missing gallery is an empty one.
 */
export async function loadGallery(dir: string = BUNDLED_GALLERY_DIR): Promise<GalleryPainting[]> {
  const where = join(dir, 'gallery.json');
  let raw: string;
  try {
    raw = await readFile(where, 'utf8');
  } catch {
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new StylecastError('MODEL_INVALID', `${where}: not valid JSON`);
  }
  const list = (parsed as { paintings?: unknown }).paintings;
  if (!Array.isArray(list)) throw new StylecastError('MODEL_INVALID', `${where}: "paintings" must be a list`);
  const seen = new Set<string>();
  return list.map((item: Record<string, unknown>, index) => {
    const at = `${where} painting ${index + 1}`;
    const id = text(item.id, 'id', at);
    const file = text(item.file, 'file', at);
    if (!ID.test(id) || seen.has(id)) throw new StylecastError('MODEL_INVALID', `${at}: id "${id}" must be unique, lower case letters, digits and dashes`);
    if (!FILE.test(file)) throw new StylecastError('MODEL_INVALID', `${at}: file "${file}" must be a plain .jpg name`);
    seen.add(id);
    return { id, title: text(item.title, 'title', at), artist: text(item.artist, 'artist', at), year: text(item.year, 'year', at), licence: text(item.licence, 'licence', at), path: join(dir, file) };
  });
}
