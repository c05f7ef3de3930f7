/**
 * The control protocol of `/ws`, in both directions. This module imports
 * nothing: the server compiles it to dist/transport/protocol.js and serves that
 * file as `/protocol.js`, so the web page validates with the same code.
 */

export type OfferMode = 'camera' | 'view';

export type ClientMessage =
  | { readonly type: 'offer'; readonly mode: OfferMode; readonly sdp: string; readonly preview: boolean }
  | { readonly type: 'style'; readonly id: string }
  | ({ readonly type: 'paint' } & PaintingMixMessage)
  | { readonly type: 'strokes'; readonly scale: number }
  /** How much of the frames' own colour to keep under the painting's strokes (0-1). */
  | { readonly type: 'colour'; readonly keep: number }
  | { readonly type: 'stop' }
  | { readonly type: 'ping' };

export interface StyleInfo {
  readonly id: string;
  readonly title: string;
}

/** Paintings uploaded to `POST /api/painting` (their ids), mixed: `blend` is the weight of `b`; strength 0 = the frame as it is. */
export interface PaintingMixMessage {
  readonly a: string;
  readonly b: string | null;
  readonly blend: number;
  readonly strength: number;
}

/** What a server offers for paintings: the any-painting model and the upload limit; null when it has none. */
export interface PaintingSupport {
  readonly model: string;
  readonly maxBytes: number;
  /** Shipped public-domain paintings: `POST /api/gallery/<id>` reads one, `GET /gallery/<id>.jpg` shows it. */
  readonly gallery: readonly GalleryItem[];
}

export interface GalleryItem {
  readonly id: string;
  readonly title: string;
  readonly artist: string;
  readonly year: string;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}


export type ServerMessage =
  | {
      readonly type: 'welcome';
      readonly styles: readonly StyleInfo[];
      readonly style: string;
      readonly source: string;
      readonly size: Size;
      readonly captureSize: Size;
      /** How many times larger than the model's own strokes they show (the broadcast's). */
      readonly strokeScale?: number;
      /** How much of the frames' own colour the broadcast keeps (0-1). */
      readonly keepColour?: number;
      readonly paintings: PaintingSupport | null;
      /** The broadcast's painting mix when it runs the any-painting model. */
      readonly painting: PaintingMixMessage | null;
    }
  | { readonly type: 'answer'; readonly sdp: string; readonly session: string; readonly mode: OfferMode }
  | { readonly type: 'style'; readonly id: string; readonly target: 'camera' | 'broadcast'; readonly painting?: PaintingMixMessage | null; readonly strokeScale?: number }
  | { readonly type: 'colour'; readonly keep: number; readonly target: 'camera' | 'broadcast' }
  | { readonly type: 'stats'; readonly style: string; readonly broadcast: Record<string, unknown>; readonly camera: Record<string, unknown> | null; readonly server: Record<string, unknown> }
  | { readonly type: 'error'; readonly code: string; readonly message: string }
  | { readonly type: 'pong' };

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export const MAX_STYLE_ID_LENGTH = 200;
/** The stroke scale's range (src/pipeline/sizing.ts MIN_STROKE_SCALE, MAX_STROKE_SCALE: this module imports nothing). */
export const STROKE_SCALE_RANGE = [0.25, 4] as const;
const PAINTING_ID = /^[\w-]{1,64}$/;

const isFraction = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;

function parseMix(m: Record<string, unknown>, where: string): Parsed<PaintingMixMessage> {
  if (typeof m.a !== 'string' || !PAINTING_ID.test(m.a)) return fail(`${where}.a must be a painting id`);
  if (!(m.b === null || m.b === undefined || (typeof m.b === 'string' && PAINTING_ID.test(m.b)))) return fail(`${where}.b must be a painting id or null`);
  if (!isFraction(m.blend) || !isFraction(m.strength)) return fail(`${where}.blend and ${where}.strength must be numbers from 0 to 1`);
  return { ok: true, value: { a: m.a, b: typeof m.b === 'string' ? m.b : null, blend: m.blend, strength: m.strength } };
}

function objectOf(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'message is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'message must be a JSON object';
  return value as Record<string, unknown>;
}

const fail = (reason: string): Parsed<never> => ({ ok: false, reason });

/** Validates one message from a page; the reason names what is wrong. */
export function parseClientMessage(text: string): Parsed<ClientMessage> {
  const m = objectOf(text);
  if (typeof m === 'string') return fail(m);
  switch (m.type) {
    case 'offer':
      if (m.mode !== 'camera' && m.mode !== 'view') return fail('offer.mode must be "camera" or "view"');
      if (typeof m.sdp !== 'string') return fail('offer.sdp must be a string');
      return { ok: true, value: { type: 'offer', mode: m.mode, sdp: m.sdp, preview: m.preview === true } };
    case 'style':
      if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > MAX_STYLE_ID_LENGTH) return fail('style.id must be a non-empty string');
      return { ok: true, value: { type: 'style', id: m.id } };
    case 'paint': {
      const mix = parseMix(m, 'paint');
      return mix.ok ? { ok: true, value: { type: 'paint', ...mix.value } } : mix;
    }
    case 'strokes':
      if (typeof m.scale !== 'number' || !Number.isFinite(m.scale) || m.scale < STROKE_SCALE_RANGE[0] || m.scale > STROKE_SCALE_RANGE[1]) {
        return fail(`strokes.scale must be a number from ${STROKE_SCALE_RANGE[0]} to ${STROKE_SCALE_RANGE[1]}`);
      }
      return { ok: true, value: { type: 'strokes', scale: m.scale } };
    case 'colour':
      if (typeof m.keep !== 'number' || !Number.isFinite(m.keep) || m.keep < 0 || m.keep > 1) return fail('colour.keep must be a number from 0 to 1');
      return { ok: true, value: { type: 'colour', keep: m.keep } };
    case 'stop':
    case 'ping':
      return { ok: true, value: { type: m.type } };
    default:
      return fail(`unknown message type ${JSON.stringify(m.type)}`);
  }
}

const isSize = (v: unknown): v is Size =>
  typeof v === 'object' && v !== null && Number.isInteger((v as Size).width) && Number.isInteger((v as Size).height);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates one message from the server (used by the page). */
export function parseServerMessage(text: string): Parsed<ServerMessage> {
  const m = objectOf(text);
  if (typeof m === 'string') return fail(m);
  switch (m.type) {
    case 'welcome':
      if (!Array.isArray(m.styles) || !m.styles.every((s) => isRecord(s) && typeof s.id === 'string' && typeof s.title === 'string')) return fail('welcome.styles must list {id, title}');
      if (typeof m.style !== 'string' || typeof m.source !== 'string') return fail('welcome.style and welcome.source must be strings');
      if (!isSize(m.size) || !isSize(m.captureSize)) return fail('welcome.size and welcome.captureSize must be {width, height}');
      if (!(m.paintings === null || (isRecord(m.paintings) && typeof m.paintings.model === 'string' && typeof m.paintings.maxBytes === 'number'
        && Array.isArray(m.paintings.gallery) && m.paintings.gallery.every((g) => isRecord(g) && typeof g.id === 'string' && typeof g.title === 'string')))) {
        return fail('welcome.paintings must be {model, maxBytes, gallery} or null');
      }
      if (!(m.painting === null || (isRecord(m.painting) && parseMix(m.painting, 'welcome.painting').ok))) return fail('welcome.painting must be a painting mix or null');
      return { ok: true, value: m as ServerMessage };
    case 'answer':
      if (typeof m.sdp !== 'string' || typeof m.session !== 'string' || (m.mode !== 'camera' && m.mode !== 'view')) return fail('answer needs sdp, session and mode');
      return { ok: true, value: m as ServerMessage };
    case 'style':
      if (typeof m.id !== 'string' || (m.target !== 'camera' && m.target !== 'broadcast')) return fail('style needs id and target');
      if (!(m.painting === undefined || m.painting === null || (isRecord(m.painting) && parseMix(m.painting, 'style.painting').ok))) return fail('style.painting must be a painting mix');
      return { ok: true, value: m as ServerMessage };
    case 'colour':
      if (typeof m.keep !== 'number' || !(m.keep >= 0 && m.keep <= 1) || (m.target !== 'camera' && m.target !== 'broadcast')) return fail('colour needs keep (0-1) and target');
      return { ok: true, value: m as ServerMessage };
    case 'stats':
      if (typeof m.style !== 'string' || !isRecord(m.broadcast) || !isRecord(m.server) || !(m.camera === null || isRecord(m.camera))) return fail('stats needs style, broadcast, camera and server');
      return { ok: true, value: m as ServerMessage };
    case 'error':
      if (typeof m.code !== 'string' || !/^[A-Z_]{1,40}$/.test(m.code) || typeof m.message !== 'string') return fail('error needs a code and a message');
      return { ok: true, value: m as ServerMessage };
    case 'pong':
      return { ok: true, value: { type: 'pong' } };
    default:
      return fail(`unknown message type ${JSON.stringify(m.type)}`);
  }
}
