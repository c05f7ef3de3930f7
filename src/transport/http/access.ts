import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { StylecastError } from '../../core/errors.js';

export interface AccessOptions {
  /** The address the server is bound to. */
  readonly host: string;
  readonly token: string | null;
  /** Origins besides the server's own whose pages may use the API, `/ws` and WHIP/WHEP. */
  readonly allowOrigins: readonly string[];
}

/** Loopback as a URL's host names it. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** Whether a bind address (`--host`) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || host === '::1';
}
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** Normalizes an `--allow-origin` value (scheme://host[:port], nothing else); throws USAGE otherwise. */
export function parseOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StylecastError('USAGE', `--allow-origin must look like http://host:port, got "${text}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new StylecastError('USAGE', `--allow-origin must be an origin (scheme://host[:port]), got "${text}"`);
  }
  return url.origin;
}

function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Who may talk to the server. Host: the name a request uses must be the bound
 * address (or a loopback name when bound to loopback), which defeats DNS
 * rebinding; a wildcard bind (0.0.0.0, needs --token) accepts any name.
 * Origin: a browser page may act only from the server's own origin or one
 * given with --allow-origin; requests without Origin (curl, ffmpeg, OBS,
 * top-level navigation) pass this check. Token: when set, required by
 * everything but the page files.
 */
export class AccessPolicy {
  private readonly allowOrigins: ReadonlySet<string>;

  constructor(private readonly options: AccessOptions, private readonly port: () => number) {
    this.allowOrigins = new Set(options.allowOrigins.map(parseOrigin));
  }

  private hostAllowed(hostHeader: string): boolean {
    const bound = this.options.host;
    if (WILDCARDS.has(bound)) return true;
    const port = this.port();
    const names = isLoopback(bound) ? LOOPBACK_NAMES : [bound.includes(':') ? `[${bound}]` : bound];
    const host = hostHeader.toLowerCase();
    return names.some((name) => host === `${name}:${port}` || (port === 80 && host === name));
  }

  /**
   * Checks Host and Origin of one request or upgrade; throws FORBIDDEN.
   * Returns the CORS headers to send (only for an allowed foreign origin).
   */
  check(req: IncomingMessage): Record<string, string> {
    const host = req.headers.host;
    if (typeof host !== 'string' || !this.hostAllowed(host)) throw new StylecastError('FORBIDDEN', 'this server does not answer to that Host name');
    const origin = req.headers.origin;
    if (origin === undefined) return {};
    if (origin === `http://${host}` || origin === `https://${host}`) return {};
    if (this.allowOrigins.has(origin)) return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': 'Location' };
    throw new StylecastError('FORBIDDEN', `pages from ${origin} may not use this server (see --allow-origin)`);
  }

  /** The token, from `Authorization: Bearer` or `?token=`; throws UNAUTHORIZED. */
  authorize(req: IncomingMessage, url: URL): void {
    const { token } = this.options;
    if (!token) return;
    const header = req.headers.authorization ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice(7) : null;
    if (!tokenMatches(token, bearer ?? url.searchParams.get('token'))) throw new StylecastError('UNAUTHORIZED', 'a valid token is required');
  }
}
