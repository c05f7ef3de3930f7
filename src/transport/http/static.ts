import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Router } from './router.js';

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

/** The compiled protocol module (dist/transport/protocol.js), which the page imports as /protocol.js. */
const PROTOCOL_JS = join(dirname(fileURLToPath(import.meta.url)), '..', 'protocol.js');

/** The page's files: a fixed table, so no request path ever reaches the file system. */
export function addStaticRoutes(router: Router, webRoot: string): void {
  const files: Array<[string, string, string]> = [
    ['/', join(webRoot, 'index.html'), HTML],
    ['/obs', join(webRoot, 'obs.html'), HTML],
    ['/app.js', join(webRoot, 'app.js'), JS],
    ['/style.css', join(webRoot, 'style.css'), 'text/css; charset=utf-8'],
    ['/protocol.js', PROTOCOL_JS, JS],
  ];
  for (const [path, file, type] of files) {
    router.on('GET', path, async ({ req, res }) => {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }
}
