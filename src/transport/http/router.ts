import type { IncomingMessage, ServerResponse } from 'node:http';
import { StylecastError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The pattern's capture groups, in order. */
  readonly params: readonly string[];
}

export type RouteHandler = (context: RouteContext) => Promise<void> | void;

export type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PATCH' | 'OPTIONS';

interface Route {
  readonly method: Method;
  readonly pattern: RegExp;
  readonly handler: RouteHandler;
}

const MAX_URL_LENGTH = 4096;

/** Parses a request target (path and query only); throws BAD_REQUEST for anything else. */
export function parseRequestTarget(target: string | undefined): URL {
  if (!target || target.length > MAX_URL_LENGTH || !target.startsWith('/') || target.startsWith('//')) {
    throw new StylecastError('BAD_REQUEST', 'the request target must be a path');
  }
  try {
    return new URL(target, 'http://localhost');
  } catch {
    throw new StylecastError('BAD_REQUEST', 'the request target is not a valid URL path');
  }
}

export function httpStatus(error: unknown): number {
  if (!(error instanceof StylecastError)) return 500;
  switch (error.code) {
    case 'BAD_REQUEST': case 'INPUT_INVALID': case 'USAGE': return 400;
    case 'UNAUTHORIZED': return 401;
    case 'FORBIDDEN': return 403;
    case 'NOT_FOUND': case 'MODEL_NOT_FOUND': return 404;
    case 'METHOD_NOT_ALLOWED': return 405;
    case 'BUSY': return 409;
    case 'TOO_LARGE': return 413;
    case 'TIMEOUT': return 408;
    default: return 500;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Reads a text request body up to `limit` bytes within `timeoutMs` (a peer can send it slowly forever). */
export async function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return (await readBodyBytes(req, limit, timeoutMs)).toString('utf8');
}

/** Reads a request body up to `limit` bytes within `timeoutMs`; a declared length over the limit is refused before reading. */
export function readBodyBytes(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new StylecastError('TOO_LARGE', `body larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: StylecastError | null) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) {
        req.resume();
        reject(error);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(new StylecastError('TOO_LARGE', `body larger than ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = () => finish(new StylecastError('BAD_REQUEST', 'the request body was cut off'));
    const timer = setTimeout(() => finish(new StylecastError('TIMEOUT', `the request body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * A route table with one error boundary: everything from parsing the request
 * target to the handler's last await runs inside it, and a failure becomes a
 * one-line text answer with the status its error code maps to.
 */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly log: Logger, private readonly before?: (context: RouteContext) => void) {}

  on(method: Method, path: string | RegExp, handler: RouteHandler): this {
    const pattern = typeof path === 'string' ? new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : path;
    this.routes.push({ method, pattern, handler });
    return this;
  }

  /** The methods some route answers for this path (for 405 and CORS preflight). */
  methodsFor(path: string): Method[] {
    return [...new Set(this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path = '?';
    try {
      const url = parseRequestTarget(req.url);
      path = url.pathname;
      const method = (req.method ?? 'GET') as Method;
      this.before?.({ req, res, url, params: [] });
      for (const route of this.routes) {
        if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
        const match = route.pattern.exec(path);
        if (match) return await route.handler({ req, res, url, params: match.slice(1) });
      }
      const allowed = this.methodsFor(path);
      if (allowed.length > 0) {
        res.setHeader('Allow', allowed.join(', '));
        throw new StylecastError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      }
      throw new StylecastError('NOT_FOUND', `no route for ${req.method} ${path}`);
    } catch (error) {
      const status = httpStatus(error);
      const line = describeError(error).split('\n')[0]!;
      if (status >= 500) this.log.error(`http ${req.method} ${path}: ${line}`);
      else if (status !== 404 && status !== 405) this.log.warn(`http ${req.method} ${path}: ${line}`);
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(`${line}\n`);
    }
  }
}
