/**
 * The live server attacked the way a careful adversary would, on 127.0.0.1:
 * malformed requests, fuzz, foreign origins and Host names, cap races,
 * half-open peers and bodies, failing inference. `npm run test:attack` runs
 * this file alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../dist/core/log.js';
import { ModelRegistry } from '../../dist/models/registry.js';
import { StylecastServer, type ServerOptions } from '../../dist/transport/server.js';
import { launchChromium } from '../support/browser.js';
import { failingEvery } from '../support/faults.js';
import { FIXTURES, ROOT, listDir, makeClip, runCli, tempDir, waitFor, type CliResult } from '../support/helpers.js';
import { connect, viewerOffer } from '../support/live-client.js';

const logLines: string[] = [];
const log = createLogger('debug', (line) => logLines.push(line));
let registry: ModelRegistry;
let server: StylecastServer | null = null;

async function startServer(overrides: Partial<ServerOptions> = {}): Promise<StylecastServer> {
  server = await StylecastServer.start({
    host: '127.0.0.1', port: 0, token: null,
    source: { kind: 'lavfi', graph: 'testsrc2=size=160x90:rate=15' },
    styleId: 'tiny', registry, device: 'cpu', threads: 1, stabilize: false,
    size: { width: 160, height: 90 }, fps: 15, log, webRoot: join(ROOT, 'web'),
    ...overrides,
  });
  return server;
}

/** Sends raw bytes; resolves with what came back when the server closes or after `waitMs`. */
function raw(port: number, bytes: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let reply = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);

async function statsOf(): Promise<any> {
  return (await fetch(`${server!.url}/api/stats`)).json();
}

async function stillServing(): Promise<void> {
  const res = await fetch(`${server!.url}/api/styles`);
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  registry = await ModelRegistry.load([FIXTURES]);
});
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('requests that used to kill the server', () => {
  it('a request target a URL parser chokes on gets 400, with or without Upgrade, and the server stays up', async () => {
    await startServer();
    const { port } = server!;
    expect(statusOf(await raw(port, 'GET //[x] HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'))).toBe(400);
    const upgrade = 'GET //[x] HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    expect(statusOf(await raw(port, upgrade))).toBe(400);
    await stillServing();
  });

  it('survives 400 fuzzed request lines, headers, URLs, upgrades and SDP bodies', async () => {
    await startServer({ limits: { bodyTimeoutMs: 300 } });
    const { port } = server!;
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;
    const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256))).toString('latin1');
    const methods = ['GET', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PUT', 'G\u0000T', ''];
    const paths = ['/', '//[x]', '/ws', '/live.mp4', '/whep', '/whip', '/whep/../../etc/passwd', '/api/stats?token=%ff', '/%', '/%00', '*', 'http://a', '/obs?style=' + 'a'.repeat(3000), '/whip/' + 'z'.repeat(100), `/${junk(20)}`];
    const headers = ['Host: 127.0.0.1', `Host: ${junk(8)}`, 'Origin: null', 'Origin: http://evil.example', 'Content-Type: application/sdp', 'Content-Length: 99999', 'Content-Length: -1', 'Transfer-Encoding: chunked', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: x', `X-${junk(5)}: ${junk(30)}`];
    const bodies = ['', 'v=0', 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n' + junk(200), junk(500), 'v=0\r\n' + 'a=x\r\n'.repeat(2000)];
    const requests: string[] = [];
    for (let i = 0; i < 400; i++) {
      const lines = [`${pick(methods)} ${pick(paths)} ${pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/9', junk(4)])}`];
      for (let h = rand(6); h > 0; h--) lines.push(pick(headers));
      requests.push(`${lines.join('\r\n')}\r\n\r\n${pick(bodies)}`);
    }
    for (let i = 0; i < requests.length; i += 20) await Promise.all(requests.slice(i, i + 20).map((r) => raw(port, r, 400)));
    await stillServing();
    const c = await connect(server!.url.replace('http', 'ws') + '/ws');
    expect((await c.next('welcome')).type).toBe('welcome');
    c.ws.close();
    expect(server!.counts()).toMatchObject({ peers: 0, cameras: 0 });
  }, 120_000);
});

describe('Origin and Host policy', () => {
  it('refuses foreign origins and Host names on every path, and lets --allow-origin in', async () => {
    await startServer({ allowOrigins: ['http://localhost:5173'] });
    const { url, port } = server!;
    const own = { Origin: url };
    expect((await fetch(`${url}/api/styles`, { headers: own })).status).toBe(200);
    expect((await fetch(`${url}/api/styles`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await fetch(`${url}/api/styles`, { headers: { Origin: 'null' } })).status).toBe(403);
    const allowed = await fetch(`${url}/api/styles`, { headers: { Origin: 'http://localhost:5173' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect((await fetch(`${url}/api/styles`, { headers: own })).headers.get('access-control-allow-origin')).toBeNull();
    // DNS rebinding: a page at rebind.example resolved to 127.0.0.1 sends its own Host.
    expect(statusOf(await raw(port, `GET /api/styles HTTP/1.1\r\nHost: rebind.example:${port}\r\n\r\n`))).toBe(403);
    expect(statusOf(await raw(port, `GET /api/styles HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`))).toBe(200);
    expect(statusOf(await raw(port, 'GET /api/styles HTTP/1.1\r\n\r\n'))).toBe(400); // HTTP/1.1 without Host: Node refuses
    const ws = (origin: string) => new Promise<string>((resolve) => {
      const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { Origin: origin } });
      socket.once('open', () => { socket.close(); resolve('open'); });
      socket.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      socket.once('error', () => resolve('error'));
    });
    expect(await ws('http://evil.example')).toBe('403');
    expect(await ws(url)).toBe('open');
    const offer = await viewerOffer();
    const whep = await fetch(`${url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Origin: 'http://evil.example' }, body: offer.sdp });
    offer.close();
    expect(whep.status).toBe(403);
    expect(server!.counts().peers).toBe(0);
  });

  it('in real Chromium, a page from another origin can neither call the API, open /ws, nor WHEP/WHIP', async () => {
    await startServer();
    const target = server!.url;
    const foreign: Server = createServer((_req, res) => res.end('<!doctype html><title>foreign</title>'));
    await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', () => r()));
    const foreignUrl = `http://localhost:${(foreign.address() as { port: number }).port}/`;
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(foreignUrl);
      const outcome = await page.evaluate(async (base) => {
        const attempt = async (f: () => Promise<unknown>) => { try { return String(await f()); } catch (e) { return `blocked: ${(e as Error).message}`; } };
        const api = await attempt(async () => (await fetch(`${base}/api/stats`)).status);
        const apiNoCors = await attempt(async () => (await fetch(`${base}/api/styles`, { mode: 'no-cors' })).type);
        const pc = new (globalThis as any).RTCPeerConnection() as RTCPeerConnection;
        pc.addTransceiver('video', { direction: 'recvonly' });
        await pc.setLocalDescription(await pc.createOffer());
        const whep = await attempt(async () => (await fetch(`${base}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp })).status);
        const whip = await attempt(async () => (await fetch(`${base}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp })).status);
        pc.close();
        const ws = await new Promise<string>((resolve) => {
          const socket = new (globalThis as any).WebSocket(`${base.replace('http', 'ws')}/ws`);
          socket.onopen = () => resolve('open');
          socket.onerror = () => resolve('blocked');
        });
        return { api, apiNoCors, whep, whip, ws };
      }, target);
      expect(outcome.api).toMatch(/^blocked/);
      expect(outcome.whep).toMatch(/^blocked/);
      expect(outcome.whip).toMatch(/^blocked/);
      expect(outcome.ws).toBe('blocked');
      expect(outcome.apiNoCors).toBe('opaque'); // it may send a simple GET but never read the answer
      // The server refused them outright (no peer made), not just the browser's CORS.
      expect(server!.counts()).toMatchObject({ peers: 0, clients: 0 });
      expect(logLines.some((l) => /pages from http:\/\/localhost:\d+ may not use this server/.test(l))).toBe(true);
    } finally {
      await browser.close();
      await new Promise((r) => foreign.close(r));
    }
  }, 60_000);
});

describe('model choice', () => {
  it('a client can pick only the styles the server lists (an unlisted variant is NOT_FOUND)', async () => {
    await startServer();
    const c = await connect(server!.url.replace('http', 'ws') + '/ws');
    const welcome = await c.next('welcome');
    expect(welcome.styles.map((s: any) => s.id)).not.toContain('tiny-fast');
    c.ws.send(JSON.stringify({ type: 'style', id: 'tiny-fast' }));
    expect(await c.next('error')).toMatchObject({ code: 'NOT_FOUND', message: 'unknown style "tiny-fast"' });
    c.ws.send(JSON.stringify({ type: 'style', id: 'tiny-b' }));
    expect(await c.next('style')).toMatchObject({ id: 'tiny-b', target: 'broadcast' });
    c.ws.close();
  });
});

describe('connection floods', () => {
  it('idle sockets beyond the connection cap are closed as they arrive', async () => {
    await startServer({ limits: { maxConnections: 10 } });
    const sockets = Array.from({ length: 30 }, () => tcpConnect(server!.port, '127.0.0.1'));
    const closed = sockets.map((s) => new Promise<boolean>((resolve) => { s.once('close', () => resolve(true)); s.once('error', () => resolve(true)); setTimeout(() => resolve(false), 2000); }));
    expect((await Promise.all(closed)).filter(Boolean).length).toBeGreaterThanOrEqual(20);
    for (const s of sockets) s.destroy();
    await waitFor(async () => (await fetch(`${server!.url}/api/styles`).catch(() => null))?.status === 200, 5000);
  });
});

describe('message floods within the limits', () => {
  it('40 style switches a second, alternating, for 4 s: a few model loads, frames keep flowing, the newest style wins at once', async () => {
    await startServer();
    const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { style: string; broadcast: { framesOut: number } });
    const c = await connect(`${server!.url.replace('http', 'ws')}/ws`);
    try {
      await c.next('welcome');
      const before = (await stats()).broadcast.framesOut;
      let last = '';
      for (let i = 0; i < 160; i++) {
        last = i % 2 ? 'tiny-b' : 'tiny';
        c.ws.send(JSON.stringify({ type: 'style', id: last }));
        await new Promise((r) => setTimeout(r, 25));
      }
      const during = (await stats()).broadcast.framesOut - before;
      expect(during).toBeGreaterThan(20); // 15 fps source: frames flowed through the flood
      const loadsAnnounced = c.messages.filter((m) => m.type === 'style').length;
      expect(loadsAnnounced).toBeLessThan(20); // at most ~2 loads a second, not 160
      await waitFor(async () => (await stats()).style === last, 2000);
      const after = (await stats()).broadcast.framesOut;
      await waitFor(async () => (await stats()).broadcast.framesOut > after + 10, 3000); // not frozen after the flood
    } finally {
      c.ws.close();
    }
  });
});

describe('caps and half-open peers', () => {
  it('offers must fit their role: WHEP recvonly, WHIP sendonly, at most 4 media sections; others are 400 before any peer is made', async () => {
    await startServer();
    const threadsBefore = Number((await import('node:fs')).readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)![1]);
    const good = await viewerOffer();
    const video = good.sdp.slice(good.sdp.indexOf('m=video'));
    const session = good.sdp.slice(0, good.sdp.indexOf('m=video'));
    const post = (path: string, sdp: string) => fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
    const many = session + video + Array.from({ length: 199 }, (_, i) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:x${i}\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n`).join('');
    const cases: Array<[string, string, RegExp]> = [
      ['/whep', many, /the offer has 200 media sections; at most 4 are taken/],
      ['/whep', good.sdp.replace('a=recvonly', 'a=sendonly'), /video must be recvonly, not sendonly/],
      ['/whip', good.sdp, /video must be sendonly, not recvonly/],
    ];
    for (const [path, sdp, message] of cases) {
      const res = await post(path, sdp);
      expect(res.status, path).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    good.close();
    expect(server!.counts().peers).toBe(0);
    const threadsAfter = Number((await import('node:fs')).readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)![1]);
    expect(threadsAfter - threadsBefore).toBeLessThan(20); // 200 sections once made thousands
    await stillServing();
  });

  it('40 parallel WHEP offers get at most the peer cap; offers without video are refused', async () => {
    await startServer({ limits: { maxPeers: 4 } });
    const noMedia = await viewerOffer(false);
    const res = await fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: noMedia.sdp });
    noMedia.close();
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/no video section/);
    expect(server!.counts().peers).toBe(0);
    const offers = await Promise.all(Array.from({ length: 40 }, () => viewerOffer()));
    const statuses = await Promise.all(offers.map((o) => fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: o.sdp }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 409)).toHaveLength(36);
    expect(server!.counts().peers).toBe(4);
    for (const o of offers) o.close();
  }, 60_000);

  it('peers that never connect are closed and free their slot', async () => {
    await startServer({ limits: { maxPeers: 1, connectTimeoutMs: 800 } });
    const offer = await viewerOffer();
    const first = await fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
    offer.close(); // never answers: the connection never comes up
    expect(first.status).toBe(201);
    expect(server!.counts().peers).toBe(1);
    await waitFor(async () => server!.counts().peers === 0, 5000);
  });

  it('45 camera offers from one socket give at most the camera cap', async () => {
    await startServer({ limits: { maxCameraSessions: 2 } });
    const c = await connect(server!.url.replace('http', 'ws') + '/ws');
    await c.next('welcome');
    const offers = await Promise.all(Array.from({ length: 45 }, () => viewerOffer(true, 'sendrecv')));
    for (const o of offers) c.ws.send(JSON.stringify({ type: 'offer', mode: 'camera', sdp: o.sdp }));
    await waitFor(async () => c.messages.filter((m) => m.type === 'answer' || m.type === 'error').length >= 45, 30_000);
    expect(c.messages.filter((m) => m.type === 'answer')).toHaveLength(2);
    expect(c.messages.filter((m) => m.type === 'error' && m.code === 'BUSY')).toHaveLength(43);
    expect(server!.counts().cameras).toBe(2);
    for (const o of offers) o.close();
    c.ws.close();
    await waitFor(async () => server!.counts().peers === 0, 10_000);
  }, 60_000);

  it('a body sent slowly times out, and /live.mp4 sockets are capped', async () => {
    await startServer({ limits: { bodyTimeoutMs: 500, maxVideoSockets: 3 } });
    const reply = await raw(server!.port, `POST /whep HTTP/1.1\r\nHost: 127.0.0.1:${server!.port}\r\nContent-Type: application/sdp\r\nContent-Length: 1000\r\n\r\nv=0\r\n`, 3000);
    expect(statusOf(reply)).toBe(408);
    const open = () => new Promise<string>((resolve) => {
      const v = new WebSocket(server!.url.replace('http', 'ws') + '/live.mp4');
      v.once('open', () => resolve('open'));
      v.once('unexpected-response', (_q, res) => resolve(String(res.statusCode)));
      v.once('error', () => resolve('error'));
    });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await open());
    expect(results).toEqual(['open', 'open', 'open', '503', '503']);
  });

  it('painting uploads: the cap is held before the body is read; a slow body times out; a declared 11 MB body is refused unread', async () => {
    await startServer({ limits: { bodyTimeoutMs: 1500 } });
    const head = (length: number) => `POST /api/painting HTTP/1.1\r\nHost: 127.0.0.1:${server!.port}\r\nContent-Type: image/png\r\nContent-Length: ${length}\r\n\r\n`;
    // Two uploads that never finish hold both places; the third is refused at once.
    const slow = [raw(server!.port, `${head(5000)}\x89PNG`, 4000), raw(server!.port, `${head(5000)}\x89PNG`, 4000)];
    await new Promise((r) => setTimeout(r, 300));
    expect(statusOf(await raw(server!.port, `${head(10)}0123456789`, 1000))).toBe(409);
    expect((await Promise.all(slow)).map(statusOf)).toEqual([408, 408]);
    expect(statusOf(await raw(server!.port, head(11 * 1024 * 1024), 1500))).toBe(413);
    await stillServing();
  });

  it('a painting that is a header without a picture, or declares 16000x16000, is a 400 with one reason, never a 500', async () => {
    await startServer({ registry: await ModelRegistry.load([FIXTURES]), styleId: 'tiny' });
    logLines.length = 0;
    const post = (body: Uint8Array, type: string) => fetch(`${server!.url}/api/painting`, { method: 'POST', headers: { 'Content-Type': type }, body: Buffer.from(body) });
    // A real JPEG cut just before its scan data: every header, no picture (ffmpeg's decoder exits 69).
    const jpeg = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', '-']);
    let at = 2;
    while (jpeg[at + 1] !== 0xda) at += 2 + jpeg.readUInt16BE(at + 2);
    const headerOnly = await post(new Uint8Array(jpeg.subarray(0, at)), 'image/jpeg');
    expect(headerOnly.status).toBe(400);
    expect(await headerOnly.text()).toMatch(/no picture could be decoded from the painting|not an image ffmpeg can read/);
    const ihdr = Buffer.alloc(25);
    ihdr.writeUInt32BE(13, 0); ihdr.write('IHDR', 4); ihdr.writeUInt32BE(16000, 8); ihdr.writeUInt32BE(16000, 12); ihdr[16] = 16; ihdr[17] = 6;
    const started = performance.now();
    const huge = await post(new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, Buffer.alloc(2 << 20)])), 'image/png');
    expect(huge.status).toBe(400);
    expect(await huge.text()).toMatch(/16000x16000 .*larger than 8192 px a side/);
    expect(performance.now() - started).toBeLessThan(2000); // refused by its header: the decode it replaces took 41 s
    expect(logLines.filter((l) => /http POST \/api\/painting/.test(l) && /500/.test(l))).toEqual([]);
    await stillServing();
  });
});

describe('a failing frame does not stop the stream', () => {
  it('with every 10th inference failing in ONNX Runtime, a viewer keeps receiving and the failures are counted', async () => {
    await startServer({ openEngine: failingEvery(10) });
    const fragments: number[] = [];
    const v = new WebSocket(server!.url.replace('http', 'ws') + '/live.mp4');
    v.on('message', (data: Buffer) => fragments.push(data.length));
    await waitFor(async () => server!.provider !== '' && (await statsOf()).broadcast.failed >= 3, 20_000);
    const before = fragments.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(fragments.length).toBeGreaterThan(before); // still streaming after the failures
    const stats = (await statsOf()).broadcast;
    expect(stats.failed).toBeGreaterThanOrEqual(3);
    expect(stats.framesOut).toBeGreaterThan(stats.failed * 5);
    expect(stats.restarts).toBe(0);
    expect(logLines.some((l) => /frame dropped, inference failed/.test(l))).toBe(true);
    v.close();
  }, 40_000);

  it('a model that fails every frame restarts its worker after 30 failures and keeps the server up', async () => {
    await startServer({ openEngine: failingEvery(1) });
    await waitFor(async () => (await statsOf()).broadcast.restarts >= 1, 30_000);
    await stillServing();
  }, 40_000);
});

afterAll(() => undefined);

describe('untrusted files: ffmpeg opens only what it was given', () => {
  let files: { path: string; cleanup: () => Promise<void> };
  let listener: Server;
  let connections = 0;
  let port = 0;
  beforeAll(async () => {
    files = await tempDir('stylecast-untrusted-');
    listener = createServer((_req, res) => { res.writeHead(404); res.end(); });
    listener.on('connection', () => { connections++; });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => listener.close(resolve));
    await files.cleanup();
  });

  const one = (r: CliResult) => r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));

  it('an .mp4 that is an HLS playlist, a concat script or a playlist of URLs is refused with one line, reading nothing', async () => {
    const secret = await makeClip(join(files.path, 'secret.mp4'), { width: 64, height: 48, seconds: 0.5, audio: false });
    const disguised: Array<[string, string]> = [
      ['hls.mp4', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\nfile://${secret}\n#EXT-X-ENDLIST\n`],
      ['urls.mp4', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\nhttp://127.0.0.1:${port}/a.ts\n#EXT-X-ENDLIST\n`],
      ['concat.mp4', `ffconcat version 1.0\nfile '${secret}'\n`],
    ];
    for (const [name, text] of disguised) {
      const input = join(files.path, name);
      await writeFile(input, text);
      const out = join(files.path, `${name}.out.mp4`);
      const r = await runCli(['stylize', input, '-o', out, '--models-dir', FIXTURES, '--style', 'tiny']);
      expect(r.code, `${name}: ${r.stderr}`).not.toBe(0);
      expect(one(r), r.stderr).toHaveLength(1);
      expect(one(r)[0]).toMatch(/stylecast does not open .*: it is a playlist, script or other container that names further files or URLs/);
      expect(await listDir(files.path)).not.toContain(`${name}.out.mp4`);
    }
    expect(connections).toBe(0);
  });

  it('file names that look like protocols are only file names (a folder holding http:HOST:PORT.png, concat:a.png|b.png)', async () => {
    const folder = join(files.path, 'folder');
    await mkdir(folder);
    const png = (name: string) => execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', join(folder, name)]);
    png('a.png');
    png(`http:127.0.0.1:${port}.png`);
    png('concat:a.png|a.png.png');
    png('subfile:,,start,0,end,10,,:a.png.png');
    const out = join(files.path, 'folder-out');
    const before = connections;
    const r = await runCli(['stylize', folder, '-o', out, '--models-dir', FIXTURES, '--style', 'tiny']);
    expect(connections - before).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect((await listDir(out)).sort()).toEqual(['a.png', `http:127.0.0.1:${port}.png`, 'concat:a.png|a.png.png', 'subfile:,,start,0,end,10,,:a.png.png'].sort());
  });

  it('a painting is read by its header: 16000x16000 is refused undecoded, in well under a second; a named pipe is named', async () => {
    const clip = await makeClip(join(files.path, 'c.mp4'), { width: 64, height: 48, seconds: 0.2, audio: false });
    // A valid PNG signature and IHDR declaring 16000x16000, 16-bit RGBA, then nothing: a decoder would want 2 GB.
    const ihdr = Buffer.alloc(25);
    ihdr.writeUInt32BE(13, 0); ihdr.write('IHDR', 4); ihdr.writeUInt32BE(16000, 8); ihdr.writeUInt32BE(16000, 12); ihdr[16] = 16; ihdr[17] = 6;
    const huge = join(files.path, 'huge.png');
    await writeFile(huge, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]));
    const started = performance.now();
    const r = await runCli(['stylize', clip, '-o', join(files.path, 'h.mp4'), '--models-dir', FIXTURES, '--style', 'tiny-colour', '--style-image', huge]);
    expect(r.code).not.toBe(0);
    expect(one(r)[0]).toMatch(/huge\.png is 16000x16000 .*larger than 8192 px a side/);
    expect(performance.now() - started).toBeLessThan(5000); // the CLI's own start-up included; a decode took 50 s
    // A typo in --threads does not start 100000 threads: capped at the core count, with a notice.
    const t = await runCli(['stylize', clip, '-o', join(files.path, 't.mp4'), '--models-dir', FIXTURES, '--style', 'tiny', '--threads', '100000']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(new RegExp(`--threads 100000 is more than this machine's ${availableParallelism()} cores: using ${availableParallelism()}`));
    const fifo = join(files.path, 'pipe.mp4');
    execFileSync('mkfifo', [fifo]);
    const f = await runCli(['stylize', fifo, '-o', join(files.path, 'f.mp4'), '--models-dir', FIXTURES, '--style', 'tiny']);
    expect(f.code).not.toBe(0);
    expect(one(f)[0]).toMatch(/is a named pipe \(FIFO\), not a file/);
  });
});
