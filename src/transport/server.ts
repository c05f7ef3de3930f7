import { timingSafeEqual, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { StylecastError, describeError } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { ModelEntry, ModelRegistry, Preset } from '../models/registry.js';
import { internalSize } from '../pipeline/sizing.js';
import type { Device } from '../models/providers.js';
import type { SourceSpec } from '../pipeline/sources.js';
import { Broadcast } from './broadcast.js';
import { CameraSession } from './camera-session.js';
import { PeerSession } from './webrtc/peer.js';
import { receiveVideo } from './webrtc/video.js';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly source: SourceSpec;
  readonly styleId: string;
  readonly registry: ModelRegistry;
  readonly device: Device;
  /** fast: the styles' fast variants at their internal scale; quality (default): full models. */
  readonly preset?: Preset;
  readonly threads: number;
  readonly stabilize: boolean;
  readonly size: FrameSize;
  readonly fps: number;
  readonly log: Logger;
  readonly webRoot: string;
  readonly limits?: Partial<ServerLimits>;
}

export interface ServerLimits {
  readonly maxMessageBytes: number;
  readonly maxMessagesPerSecond: number;
  readonly maxPeers: number;
  readonly maxCameraSessions: number;
  readonly maxClients: number;
}

const DEFAULT_LIMITS: ServerLimits = { maxMessageBytes: 64 * 1024, maxMessagesPerSecond: 50, maxPeers: 16, maxCameraSessions: 2, maxClients: 64 };
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

interface ControlClient {
  readonly id: string;
  readonly ws: WebSocket;
  readonly peers: Set<PeerSession>;
  readonly cameras: Set<CameraSession>;
  windowStart: number;
  messagesInWindow: number;
}

type ClientMessage =
  | { type: 'offer'; mode: 'camera' | 'view'; sdp: string; preview?: boolean }
  | { type: 'style'; id: string }
  | { type: 'stop' }
  | { type: 'ping' };

/** Validates one control message; throws BAD_REQUEST with the reason. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StylecastError('BAD_REQUEST', 'message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StylecastError('BAD_REQUEST', 'message must be a JSON object');
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'offer':
      if (m.mode !== 'camera' && m.mode !== 'view') throw new StylecastError('BAD_REQUEST', 'offer.mode must be "camera" or "view"');
      if (typeof m.sdp !== 'string') throw new StylecastError('BAD_REQUEST', 'offer.sdp must be a string');
      return { type: 'offer', mode: m.mode, sdp: m.sdp, preview: m.preview === true };
    case 'style':
      if (typeof m.id !== 'string' || m.id.length > 200) throw new StylecastError('BAD_REQUEST', 'style.id must be a string');
      return { type: 'style', id: m.id };
    case 'stop':
    case 'ping':
      return { type: m.type };
    default:
      throw new StylecastError('BAD_REQUEST', `unknown message type ${JSON.stringify(m.type)}`);
  }
}

function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/obs': { file: 'obs.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/**
 * `stylecast serve`: one HTTP server for the pages, WHIP/WHEP and the API, a
 * WebSocket for control/signalling/stats (/ws) and one for fMP4 video
 * (/live.mp4). close() ends every peer connection, socket, child and timer.
 */
export class StylecastServer {
  private readonly http: Server;
  private readonly controlWss: WebSocketServer;
  private readonly videoWss: WebSocketServer;
  private readonly clients = new Set<ControlClient>();
  private readonly resources = new Map<string, { kind: 'whip' | 'whep'; peer: PeerSession }>();
  private readonly limits: ServerLimits;
  private readonly statsTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  private styleId: string;

  private constructor(private readonly options: ServerOptions, private readonly broadcast: Broadcast) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.styleId = options.styleId;
    this.http = createServer((req, res) => void this.handleHttp(req, res));
    this.controlWss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessageBytes });
    this.videoWss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    this.http.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const reject = (status: string) => {
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      };
      if (this.closing) return reject('503 Service Unavailable');
      if (this.options.token && !tokenMatches(this.options.token, url.searchParams.get('token'))) return reject('401 Unauthorized');
      socket.on('error', () => undefined);
      if (url.pathname === '/ws') {
        if (this.clients.size >= this.limits.maxClients) return reject('503 Service Unavailable');
        this.controlWss.handleUpgrade(req, socket, head, (ws) => this.acceptControl(ws));
      } else if (url.pathname === '/live.mp4') {
        this.videoWss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', () => undefined);
          ws.on('message', () => undefined);
          this.broadcast.websocket.addClient(ws);
        });
      } else reject('404 Not Found');
    });
    this.http.on('clientError', (_error, socket) => socket.destroy());
    this.statsTimer = setInterval(() => this.sendStats(), 1000);
  }

  static async start(options: ServerOptions): Promise<StylecastServer> {
    if (!isLoopback(options.host) && !options.token) {
      throw new StylecastError('USAGE', `binding ${options.host} exposes the server beyond this machine: give --token`);
    }
    const style = await options.registry.resolve(options.styleId);
    const choice = options.registry.choose(style, options.preset ?? 'quality');
    if (choice.note) options.log.info(`note: ${choice.note}`);
    const broadcast = await Broadcast.open({
      modelPath: choice.entry.onnxPath, device: options.device, threads: options.threads, stabilize: options.stabilize,
      source: options.source, size: internalSize(options.size, choice.modelScale), fps: options.fps, log: options.log,
    });
    const server = new StylecastServer({ ...options, styleId: style.id }, broadcast);
    try {
      await new Promise<void>((resolve, reject) => {
        server.http.once('error', reject);
        server.http.listen(options.port, options.host, () => {
          server.http.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await server.close();
      const code = (error as NodeJS.ErrnoException).code;
      throw new StylecastError('USAGE', code === 'EADDRINUSE' ? `port ${options.port} on ${options.host} is already in use` : `cannot listen on ${options.host}:${options.port}: ${describeError(error)}`);
    }
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${this.port}`;
  }

  get provider(): string {
    return this.broadcast.stats().provider;
  }

  /** Live objects, for leak checks. */
  counts(): { clients: number; peers: number; cameras: number; resources: number; websocketViewers: number } {
    let peers = this.resources.size;
    let cameras = 0;
    for (const c of this.clients) {
      peers += c.peers.size + c.cameras.size;
      cameras += c.cameras.size;
    }
    return { clients: this.clients.size, peers, cameras, resources: this.resources.size, websocketViewers: this.broadcast.websocket.viewers };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.statsTimer);
      for (const client of this.clients) this.dropClient(client, 1001, 'server closing');
      for (const { peer } of this.resources.values()) peer.close();
      this.resources.clear();
      this.controlWss.close();
      this.videoWss.close();
      await this.broadcast.close();
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
    })();
    return this.closing;
  }

  // ---- control WebSocket -------------------------------------------------

  private acceptControl(ws: WebSocket): void {
    const client: ControlClient = { id: randomUUID().slice(0, 8), ws, peers: new Set(), cameras: new Set(), windowStart: Date.now(), messagesInWindow: 0 };
    this.clients.add(client);
    ws.on('error', () => undefined);
    ws.on('close', () => this.dropClient(client));
    ws.on('message', (data: RawData, isBinary: boolean) => void this.onControlMessage(client, data, isBinary));
    this.send(client, {
      type: 'welcome',
      styles: this.options.registry.listed().map((e) => ({ id: e.id, title: e.title })),
      style: this.styleId,
      source: this.broadcast.sourceName,
      size: this.options.size,
      // The camera is captured at the size the model runs at (the page scales the result up).
      captureSize: internalSize(this.options.size, this.modelFor(this.styleId, null).modelScale),
    });
  }

  private dropClient(client: ControlClient, code?: number, reason?: string): void {
    if (!this.clients.delete(client)) return;
    for (const peer of client.peers) peer.close();
    for (const camera of client.cameras) camera.close();
    client.peers.clear();
    client.cameras.clear();
    if (code) client.ws.close(code, reason);
    else client.ws.terminate();
  }

  private async onControlMessage(client: ControlClient, data: RawData, isBinary: boolean): Promise<void> {
    const now = Date.now();
    if (now - client.windowStart >= 1000) {
      client.windowStart = now;
      client.messagesInWindow = 0;
    }
    if (++client.messagesInWindow > this.limits.maxMessagesPerSecond) {
      this.options.log.warn(`ws ${client.id}: more than ${this.limits.maxMessagesPerSecond} messages/s, closing`);
      this.dropClient(client, 1008, 'too many messages');
      return;
    }
    let message: ClientMessage;
    try {
      if (isBinary) throw new StylecastError('BAD_REQUEST', 'binary messages are not accepted');
      message = parseClientMessage(data.toString());
    } catch (error) {
      this.options.log.warn(`ws ${client.id}: ${describeError(error)}`);
      this.sendError(client, error);
      return;
    }
    try {
      await this.handleMessage(client, message);
    } catch (error) {
      this.options.log.warn(`ws ${client.id}: ${message.type} failed: ${describeError(error)}`);
      this.sendError(client, error);
    }
  }

  private async handleMessage(client: ControlClient, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'ping':
        this.send(client, { type: 'pong' });
        return;
      case 'stop':
        for (const peer of client.peers) peer.close();
        for (const camera of client.cameras) camera.close();
        return;
      case 'style':
        return this.switchStyle(client, message.id);
      case 'offer': {
        this.checkPeerBudget();
        if (message.mode === 'camera') {
          if (this.counts().cameras >= this.limits.maxCameraSessions) {
            throw new StylecastError('BUSY', `at most ${this.limits.maxCameraSessions} camera sessions at once`);
          }
          const style = await this.options.registry.resolve(this.styleId);
          const { session, answerSdp } = await CameraSession.open({
            offerSdp: message.sdp, modelPath: this.modelFor(style.id, style).entry.onnxPath, device: this.options.device, threads: this.options.threads,
            stabilize: this.options.stabilize, candidateAddress: this.candidateAddress(),
          });
          if (!this.clients.has(client)) return session.close(); // left during negotiation
          client.cameras.add(session);
          void session.peer.closed.then(() => client.cameras.delete(session));
          this.send(client, { type: 'answer', sdp: answerSdp, session: session.id, mode: 'camera' });
        } else {
          const tracks = [this.broadcast.output.createTrack(), ...(message.preview ? [this.broadcast.preview.createTrack()] : [])];
          const release = () => {
            this.broadcast.output.releaseTrack(tracks[0]!);
            if (tracks[1]) this.broadcast.preview.releaseTrack(tracks[1]);
          };
          let peer: PeerSession;
          let answerSdp: string;
          try {
            ({ session: peer, answerSdp } = await PeerSession.answer({ offerSdp: message.sdp, sendTracks: tracks, candidateAddress: this.candidateAddress() }));
          } catch (error) {
            release();
            throw error;
          }
          peer.onClose(release);
          if (!this.clients.has(client)) return peer.close();
          client.peers.add(peer);
          void peer.closed.then(() => client.peers.delete(peer));
          this.send(client, { type: 'answer', sdp: answerSdp, session: peer.id, mode: 'view' });
        }
        return;
      }
    }
  }

  private async switchStyle(client: ControlClient, id: string): Promise<void> {
    const entry = await this.options.registry.resolve(id).catch(() => null);
    if (!entry || entry.id !== id) throw new StylecastError('NOT_FOUND', `unknown style "${id}"`);
    const model = this.modelFor(id, entry).entry.onnxPath;
    if (client.cameras.size > 0) {
      for (const camera of client.cameras) await camera.setModel(model);
      this.send(client, { type: 'style', id, target: 'camera' });
      return;
    }
    await this.broadcast.setModel(model);
    this.styleId = id;
    for (const c of this.clients) this.send(c, { type: 'style', id, target: 'broadcast' });
  }

  /** The model file (and scale) that runs for a style under this server's preset. */
  private modelFor(id: string, entry: ModelEntry | null): { entry: ModelEntry; modelScale: number } {
    const base = entry ?? this.options.registry.get(id);
    if (!base) return { entry: { id, title: id, onnxPath: '', manifestPath: null, manifest: null }, modelScale: 1 };
    return this.options.registry.choose(base, this.options.preset ?? 'quality');
  }

  private checkPeerBudget(): void {
    if (this.counts().peers >= this.limits.maxPeers) throw new StylecastError('BUSY', `at most ${this.limits.maxPeers} peer connections at once`);
  }

  private candidateAddress(): string | null {
    return isLoopback(this.options.host) ? '127.0.0.1' : null;
  }

  private sendStats(): void {
    if (this.clients.size === 0) return;
    const broadcast = this.broadcast.stats();
    const server = { ...this.counts(), rssMb: Math.round(process.memoryUsage().rss / 1e6), uptimeS: Math.round(performance.now() / 1000) };
    for (const client of this.clients) {
      const camera = [...client.cameras][0]?.stats() ?? null;
      this.send(client, { type: 'stats', style: this.styleId, broadcast, camera, server });
    }
  }

  private send(client: ControlClient, message: unknown): void {
    if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify(message), () => undefined);
  }

  private sendError(client: ControlClient, error: unknown): void {
    const code = error instanceof StylecastError ? error.code : 'INTERNAL';
    this.send(client, { type: 'error', code, message: describeError(error) });
  }

  // ---- HTTP: pages, API, WHIP and WHEP -------------------------------------

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    try {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Expose-Headers': 'Location',
        });
        return void res.end();
      }
      const page = STATIC_FILES[path];
      if (page && req.method === 'GET') {
        const body = await readFile(join(this.options.webRoot, page.file));
        res.writeHead(200, { 'Content-Type': page.type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        return void res.end(body);
      }
      if (path === '/api/styles' && req.method === 'GET') {
        return this.json(res, 200, { style: this.styleId, styles: this.options.registry.listed().map((e) => ({ id: e.id, title: e.title, credit: e.manifest?.style ?? null })) });
      }
      if (path === '/api/stats' && req.method === 'GET') {
        this.authorize(req, url);
        return this.json(res, 200, { style: this.styleId, broadcast: this.broadcast.stats(), server: this.counts() });
      }
      if ((path === '/whip' || path === '/whep') && req.method === 'POST') return await this.createResource(path.slice(1) as 'whip' | 'whep', req, res, url);
      const match = /^\/(whip|whep)\/([\w-]+)$/.exec(path);
      if (match && req.method === 'DELETE') {
        this.authorize(req, url);
        const resource = this.resources.get(match[2]!);
        if (!resource || resource.kind !== match[1]) throw new StylecastError('NOT_FOUND', 'no such session');
        resource.peer.close();
        res.writeHead(200);
        return void res.end();
      }
      if (match && req.method === 'PATCH') {
        res.writeHead(405, { Allow: 'DELETE' });
        return void res.end('trickle ICE is not supported: send a complete offer');
      }
      throw new StylecastError('NOT_FOUND', `no route for ${req.method} ${path}`);
    } catch (error) {
      const status = httpStatus(error);
      if (status >= 500) this.options.log.error(`http ${req.method} ${path}: ${describeError(error)}`);
      else if (status !== 404) this.options.log.warn(`http ${req.method} ${path}: ${describeError(error)}`);
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${describeError(error)}\n`);
    }
  }

  private authorize(req: IncomingMessage, url: URL): void {
    if (!this.options.token) return;
    const header = req.headers.authorization ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice(7) : null;
    if (!tokenMatches(this.options.token, bearer ?? url.searchParams.get('token'))) throw new StylecastError('UNAUTHORIZED', 'a valid token is required');
  }

  private async createResource(kind: 'whip' | 'whep', req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.authorize(req, url);
    if (!(req.headers['content-type'] ?? '').startsWith('application/sdp')) throw new StylecastError('BAD_REQUEST', 'Content-Type must be application/sdp');
    const offerSdp = await readBody(req, this.limits.maxMessageBytes);
    this.checkPeerBudget();
    let peer: PeerSession;
    let answerSdp: string;
    if (kind === 'whep') {
      const track = this.broadcast.output.createTrack();
      try {
        ({ session: peer, answerSdp } = await PeerSession.answer({ offerSdp, sendTracks: [track], candidateAddress: this.candidateAddress() }));
      } catch (error) {
        this.broadcast.output.releaseTrack(track);
        throw error;
      }
      peer.onClose(() => this.broadcast.output.releaseTrack(track));
    } else {
      const id = randomUUID();
      if (!this.broadcast.attachIngest(id)) throw new StylecastError('BUSY', 'another WHIP publisher is already connected');
      let stop: (() => void) | null = null;
      try {
        ({ session: peer, answerSdp } = await PeerSession.answer({
          offerSdp,
          candidateAddress: this.candidateAddress(),
          onRemoteTrack: (track) => {
            if (track.kind === 'video' && !stop) stop = receiveVideo(track, (frame, i420) => this.broadcast.pushIngest(id, frame, i420));
          },
        }));
      } catch (error) {
        this.broadcast.detachIngest(id);
        throw error;
      }
      peer.onClose(() => {
        (stop as (() => void) | null)?.();
        this.broadcast.detachIngest(id);
      });
    }
    this.resources.set(peer.id, { kind, peer });
    void peer.closed.then(() => this.resources.delete(peer.id));
    res.writeHead(201, { 'Content-Type': 'application/sdp', Location: `/${kind}/${peer.id}`, 'Access-Control-Expose-Headers': 'Location' });
    res.end(answerSdp);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }
}

function httpStatus(error: unknown): number {
  if (!(error instanceof StylecastError)) return 500;
  switch (error.code) {
    case 'BAD_REQUEST': return 400;
    case 'UNAUTHORIZED': return 401;
    case 'NOT_FOUND': case 'MODEL_NOT_FOUND': return 404;
    case 'BUSY': return 409;
    default: return 500;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new StylecastError('BAD_REQUEST', `body larger than ${limit} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

