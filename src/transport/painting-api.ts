/**
 * The any-painting model's paintings on a live server: uploads (`POST
 * /api/painting`), the shipped gallery (`POST /api/gallery/<id>`, `GET
 * /gallery/<id>.jpg`, by id only), what the welcome message offers, and the
 * conditioning a painting mix turns into. Absent when the server offers no
 * any-painting model.
 */
import { readFile } from 'node:fs/promises';
import { StylecastError } from '../core/errors.js';
import type { Conditioning } from '../models/contract.js';
import type { GalleryPainting } from '../models/gallery.js';
import type { Device } from '../models/providers.js';
import type { ModelEntry } from '../models/registry.js';
import { PaintingLibrary } from '../pipeline/painting-library.js';
import { MAX_PAINTING_BYTES, conditioningFor, sniffPainting } from '../pipeline/painting.js';
import type { AccessPolicy } from './http/access.js';
import { readBodyBytes, sendJson, type RouteContext, type Router } from './http/router.js';
import type { PaintingMixMessage, PaintingSupport } from './protocol.js';

export interface PaintingApiOptions {
  readonly painter: ModelEntry;
  readonly device: Device;
  readonly gallery: readonly GalleryPainting[];
  readonly access: AccessPolicy;
  /** Uploads read at once (bodies in parallel, encoded one at a time). */
  readonly maxUploads: number;
  readonly bodyTimeoutMs: number;
}

export class PaintingApi {
  private readonly library: PaintingLibrary;
  private uploads = 0;

  constructor(private readonly options: PaintingApiOptions) {
    const { painter, device } = options;
    this.library = new PaintingLibrary({ modelPath: painter.onnxPath, paintingSize: painter.manifest?.arbitrary?.paintingSize ?? 512, device });
  }

  /** What the welcome message says about paintings. */
  support(): PaintingSupport {
    return { model: this.options.painter.id, maxBytes: MAX_PAINTING_BYTES, gallery: this.options.gallery.map(({ id, title, artist, year }) => ({ id, title, artist, year })) };
  }

  /** A mix of stored paintings as the model's conditioning; NOT_FOUND for ids this server never gave. */
  conditioningFor(mix: PaintingMixMessage): Conditioning {
    const styles = [this.library.get(mix.a).style, ...(mix.b ? [this.library.get(mix.b).style] : [])];
    return conditioningFor({ styles, blend: mix.blend, strength: mix.strength });
  }

  addRoutes(router: Router): void {
    router
      .on('POST', '/api/painting', (context) => this.upload(context))
      .on('POST', /^\/api\/gallery\/([a-z0-9-]{1,64})$/, (context) => this.pickFromGallery(context))
      .on('GET', /^\/gallery\/([a-z0-9-]{1,64})\.jpg$/, async ({ req, res, url, params }) => {
        this.options.access.authorize(req, url);
        const body = await readFile(this.galleryPainting(params[0]!).path);
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length, 'Cache-Control': 'max-age=3600', 'X-Content-Type-Options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
  }

  close(): Promise<void> {
    return this.library.close();
  }

  /** `POST /api/painting`: an image body (at most 10 MB) -> {id}; the stream is untouched until a `paint` message uses it. */
  private async upload({ req, res, url }: RouteContext): Promise<void> {
    this.options.access.authorize(req, url);
    const type = req.headers['content-type'] ?? '';
    if (!/^(image\/[\w.+-]+|application\/octet-stream)\s*(;|$)/i.test(type)) throw new StylecastError('BAD_REQUEST', 'Content-Type must be an image type');
    if (this.uploads >= this.options.maxUploads) throw new StylecastError('BUSY', 'other paintings are being uploaded: try again in a moment');
    this.uploads++;
    try {
      const bytes = await readBodyBytes(req, MAX_PAINTING_BYTES, this.options.bodyTimeoutMs);
      sniffPainting(bytes); // a clear answer before the encoder starts
      const painting = await this.library.add(bytes);
      sendJson(res, 201, { id: painting.id, styleLength: painting.style.length });
    } finally {
      this.uploads--;
    }
  }

  /** `POST /api/gallery/<id>`: a shipped painting, read once and kept under a fixed id -> {id}, as an upload gives. */
  private async pickFromGallery({ req, res, url, params }: RouteContext): Promise<void> {
    this.options.access.authorize(req, url);
    const painting = this.galleryPainting(params[0]!);
    const stored = await this.library.add(await readFile(painting.path), `g-${painting.id}`);
    sendJson(res, 201, { id: stored.id, styleLength: stored.style.length });
  }

  private galleryPainting(id: string): GalleryPainting {
    const painting = this.options.gallery.find((p) => p.id === id);
    if (!painting) throw new StylecastError('NOT_FOUND', `no gallery painting "${id}"`);
    return painting;
  }
}
