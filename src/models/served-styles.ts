import { StylecastError } from '../core/errors.js';
import { isArbitrary, type ModelChoice, type ModelEntry, type ModelRegistry, type Preset } from './registry.js';

/**
 * Which styles a live server offers and what runs for each: the listed styles
 * of the registry plus the one the operator started with (which may be an
 * unlisted model or a path), all under the server's preset. Clients choose
 * only from this set; anything else is NOT_FOUND.
 */
export class ServedStyles {
  constructor(
    private readonly registry: ModelRegistry,
    readonly preset: Preset,
    readonly initial: ModelEntry,
  ) {}

  /** What the page lists: the initial style first if it is not a listed one. */
  list(): Array<{ id: string; title: string; credit: unknown }> {
    const listed = this.registry.listed();
    const entries = listed.some((e) => e.id === this.initial.id) ? listed : [this.initial, ...listed];
    return entries.map((e) => ({ id: e.id, title: e.title, credit: e.manifest?.style ?? null }));
  }

  /** The any-painting model (contract 2) paintings are read and painted with, if this server offers one. */
  painter(): ModelEntry | null {
    return isArbitrary(this.initial) ? this.initial : this.registry.arbitrary()[0] ?? null;
  }

  /** The model for a style id a client asked for; throws NOT_FOUND for ids this server does not offer. */
  choose(id: string): ModelChoice {
    const entry = id === this.initial.id ? this.initial : this.registry.listed().find((e) => e.id === id);
    if (!entry) throw new StylecastError('NOT_FOUND', `unknown style "${id}"`);
    return this.registry.choose(entry, this.preset);
  }
}
