import { randomUUID } from 'node:crypto';
import { StylecastError } from '../core/errors.js';
import { StyleEngine } from '../models/engine.js';
import type { Device } from '../models/providers.js';
import { paintingStyleFromBytes } from './painting.js';

export interface PaintingLibraryOptions {
  /** The any-painting model whose style encoder reads the paintings. */
  readonly modelPath: string;
  readonly paintingSize: number;
  readonly device: Device;
  /** Paintings kept (the least recently used goes first). */
  readonly capacity?: number;
  readonly maxPixels?: number;
  /** How long one painting may take to read and encode. */
  readonly timeoutMs?: number;
}

export interface StoredPainting {
  readonly id: string;
  readonly style: Float32Array;
}

/**
 * The live server's paintings: each upload is read once through the model's
 * style encoder (its own worker, opened on the first upload) and kept as a
 * style vector; mixing and strength are then arithmetic. One upload is read
 * at a time (a second gets BUSY) and the library holds a bounded number.
 */
export class PaintingLibrary {
  private readonly paintings = new Map<string, StoredPainting>();
  private engine: Promise<StyleEngine> | null = null;
  private busy = false;
  private closed = false;

  constructor(private readonly options: PaintingLibraryOptions) {}

  get size(): number {
    return this.paintings.size;
  }

  /**
   * Reads an uploaded painting; the caller has capped its size. Throws BUSY while another is being read.
   * With `id` (a gallery painting) a painting already read under that id is given back without reading it again.
   */
  async add(bytes: Uint8Array, id?: string): Promise<StoredPainting> {
    if (this.closed) throw StylecastError.closed('painting library');
    const known = id === undefined ? undefined : this.paintings.get(id);
    if (known) return this.get(known.id);
    if (this.busy) throw new StylecastError('BUSY', 'another painting is being read: try again in a moment');
    this.busy = true;
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
    try {
      const engine = await this.openEngine();
      const style = await paintingStyleFromBytes(engine, bytes, {
        shortSide: this.options.paintingSize, signal, ...(this.options.maxPixels ? { maxPixels: this.options.maxPixels } : {}),
      });
      if (signal.aborted) throw new StylecastError('TIMEOUT', 'reading the painting took too long');
      const painting = { id: id ?? `p-${randomUUID().slice(0, 8)}`, style };
      this.paintings.set(painting.id, painting);
      while (this.paintings.size > (this.options.capacity ?? 16)) this.paintings.delete(this.paintings.keys().next().value!);
      return painting;
    } catch (error) {
      if (signal.aborted && !(error instanceof StylecastError && error.code === 'TIMEOUT')) throw new StylecastError('TIMEOUT', 'reading the painting took too long');
      throw error;
    } finally {
      this.busy = false;
    }
  }

  /** A stored painting's style vector; NOT_FOUND for an id this server never gave (or has let go). */
  get(id: string): StoredPainting {
    const painting = this.paintings.get(id);
    if (!painting) throw new StylecastError('NOT_FOUND', `no painting "${id.slice(0, 40)}" on this server: upload it again`);
    this.paintings.delete(id); // most recently used last
    this.paintings.set(id, painting);
    return painting;
  }

  async close(): Promise<void> {
    this.closed = true;
    const engine = await this.engine?.catch(() => null);
    await engine?.close();
  }

  private openEngine(): Promise<StyleEngine> {
    this.engine ??= StyleEngine.open({ modelPath: this.options.modelPath, device: this.options.device, threads: 1 }).catch((error: unknown) => {
      this.engine = null;
      throw error;
    });
    return this.engine;
  }
}
