/**
 * The server's HTTP surface as one route table: the pages, `/api/*`, the fMP4
 * stream on `/live.mp4`, and WHIP/WHEP resources. Every route checks access
 * first; what a route does with the server (its styles, stats, sessions) comes
 * through `ApiHost`, so the table reads on its own and the server only composes.
 */
import type { Logger } from '../../core/log.js';
import { StylecastError } from '../../core/errors.js';
import type { Fmp4Broadcaster } from '../fmp4/broadcaster.js';
import { httpSink } from '../fmp4/broadcaster.js';
import type { PaintingApi } from '../painting-api.js';
import type { Session, SessionTable } from '../sessions/session-table.js';
import type { AccessPolicy } from './access.js';
import { Router, readBody, sendJson, type RouteContext } from './router.js';
import { addStaticRoutes } from './static.js';

export interface ApiHost {
  readonly log: Logger;
  readonly webRoot: string;
  readonly access: AccessPolicy;
  readonly limits: { readonly maxVideoSockets: number; readonly maxMessageBytes: number; readonly bodyTimeoutMs: number };
  /** The any-painting model's routes; null when the server offers no such model. */
  readonly paintings: PaintingApi | null;
  readonly fmp4: Fmp4Broadcaster;
  readonly sessions: SessionTable;
  styles(): unknown;
  stats(): unknown;
  /** A WHIP publisher or WHEP viewer for this offer, and its answer. */
  openResource(kind: 'whip' | 'whep', offerSdp: string): Promise<{ session: Session; answerSdp: string }>;
}

export function apiRouter(host: ApiHost): Router {
  const { access, limits } = host;
  const router = new Router(host.log, ({ req, res }) => {
    for (const [name, value] of Object.entries(access.check(req))) res.setHeader(name, value);
  });
  addStaticRoutes(router, host.webRoot);
  if (host.paintings) host.paintings.addRoutes(router);
  else {
    router.on('POST', /^\/api\/(painting|gallery\/[a-z0-9-]{1,64})$/, ({ req, url }) => {
      access.authorize(req, url);
      throw new StylecastError('NOT_FOUND', 'this server has no any-painting model');
    });
  }
  const createResource = async (kind: 'whip' | 'whep', { req, res, url }: RouteContext): Promise<void> => {
    access.authorize(req, url);
    if (!(req.headers['content-type'] ?? '').startsWith('application/sdp')) throw new StylecastError('BAD_REQUEST', 'Content-Type must be application/sdp');
    const reservation = host.sessions.reserve(kind === 'whip' ? 'publisher' : 'viewer', null);
    let opened: { session: Session; answerSdp: string };
    try {
      opened = await host.openResource(kind, await readBody(req, limits.maxMessageBytes, limits.bodyTimeoutMs));
    } catch (error) {
      reservation.cancel();
      throw error;
    }
    reservation.fill(opened.session);
    res.writeHead(201, { 'Content-Type': 'application/sdp', Location: `/${kind}/${opened.session.id}` });
    res.end(opened.answerSdp);
  };
  return router
    .on('GET', '/api/styles', ({ req, res, url }) => {
      access.authorize(req, url);
      sendJson(res, 200, host.styles());
    })
    .on('GET', '/api/stats', ({ req, res, url }) => {
      access.authorize(req, url);
      sendJson(res, 200, host.stats());
    })
    .on('GET', '/live.mp4', ({ req, res, url }) => {
      access.authorize(req, url);
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'video/mp4', 'Cache-Control': 'no-store' });
        return void res.end();
      }
      if (host.fmp4.viewers >= limits.maxVideoSockets) throw new StylecastError('BUSY', `at most ${limits.maxVideoSockets} fMP4 viewers at once`);
      req.socket.setTimeout(0); // a live stream: no request timeout once it flows
      host.fmp4.addClient(httpSink(res));
    })
    .on('POST', '/whep', (context) => createResource('whep', context))
    .on('POST', '/whip', (context) => createResource('whip', context))
    .on('DELETE', /^\/(whip|whep)\/([\w-]{1,64})$/, ({ req, res, url, params }) => {
      access.authorize(req, url);
      const session = host.sessions.get(params[1]!);
      if (!session || session.kind !== (params[0] === 'whip' ? 'publisher' : 'viewer')) throw new StylecastError('NOT_FOUND', 'no such session');
      session.close();
      res.writeHead(200);
      res.end();
    })
    .on('PATCH', /^\/(whip|whep)\/([\w-]{1,64})$/, ({ res }) => {
      res.writeHead(405, { Allow: 'DELETE' });
      res.end('trickle ICE is not supported: send a complete offer\n');
    })
    // Reached only by the server's own origin or an --allow-origin one (the access check runs first).
    .on('OPTIONS', /^\/(api\/\w+|whip|whep|(whip|whep)\/[\w-]{1,64})$/, ({ res }) => {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, DELETE, PATCH, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
    });
}
