import type { EngineFactory } from '../models/engine.js';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { StylecastError, describeError } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { Device } from '../models/providers.js';
import type { ModelRegistry, Preset } from '../models/registry.js';
import { loadGallery, type GalleryPainting } from '../models/gallery.js';
import { ServedStyles } from '../models/served-styles.js';
import { workingModelSize } from '../pipeline/sizing.js';
import { guardListener, type SourceSpec } from '../pipeline/sources.js';
import { Broadcast, type BroadcastStats } from './broadcast.js';
import { RtcVideoOutput } from './webrtc/video.js';
import { StyleDirector, workingSizeOf } from './style-director.js';
import { PaintingApi } from './painting-api.js';
import { PushOutput, parsePushUrl } from './push/push-output.js';
import { Fmp4Broadcaster, webSocketSink } from './fmp4/broadcaster.js';
import { JanusPublisher } from './janus/janus-publisher.js';
import { AccessPolicy, isLoopback } from './http/access.js';
import { apiRouter } from './http/api.js';
import { type Router, parseRequestTarget } from './http/router.js';
import { ControlMessages } from './control-messages.js';
import { Publisher } from './sessions/publisher.js';
import { SessionTable } from './sessions/session-table.js';
import { Viewer } from './sessions/viewer.js';
import { ControlChannel } from './signalling.js';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly source: SourceSpec;
  readonly styleId: string;
  readonly registry: ModelRegistry;
  readonly device: Device;
  /** fast: the styles' fast variants at their model scale; quality (default): full models. */
  readonly preset?: Preset;
  readonly threads: number;
  /** Frames each stylizer runs side by side on the CPU (0: auto; see planLanes). */
  readonly lanes?: number;
  readonly stabilize: boolean;
  /** How much of the frames' own colour every stylizer keeps (0-1; default 0: the painting's colours). */
  readonly keepColour?: number;
  /** Run every style in fp32 even on a GPU (default: its fp16 variant there, when it has one). */
  readonly fp32?: boolean;
  /** The broadcast's stroke scale at start (default 1: the model's own strokes at its working size). */
  readonly strokeScale?: number;
  readonly size: FrameSize;
  readonly fps: number;
  readonly log: Logger;
  readonly webRoot: string;
  readonly limits?: Partial<ServerLimits>;
  /** Origins besides the server's own whose pages may use it (`--allow-origin`). */
  readonly allowOrigins?: readonly string[];
  /** Publish the broadcast into a Janus VideoRoom (`--janus`, `--janus-room`). */
  readonly janus?: { readonly url: string; readonly room: number };
  /** Push the stylized stream to these rtmp(s):// or srt:// (caller) URLs (`--push`). */
  readonly push?: readonly string[];
  /** Serve https (and wss): browsers give a page on another machine the camera only in a secure context. PEM text. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Public-domain paintings offered beside the upload (default: the shipped gallery, models/gallery). */
  readonly gallery?: readonly GalleryPainting[];
  /** Opens each stylizer's engine (default StyleEngine.open): a seam for other engines, and for tests that inject faults. */
  readonly openEngine?: EngineFactory;
}

export interface ServerLimits {
  readonly maxMessageBytes: number;
  readonly maxMessagesPerSecond: number;
  readonly maxPeers: number;
  readonly maxCameraSessions: number;
  readonly maxClients: number;
  /** `/live.mp4` WebSocket viewers. */
  readonly maxVideoSockets: number;
  /** A peer connection not up this long after the answer is closed and its slot freed. */
  readonly connectTimeoutMs: number;
  /** How long a WHIP/WHEP body or a painting may take to arrive. */
  readonly bodyTimeoutMs: number;
  /** Paintings uploaded at once (their bodies are read in parallel, encoded one at a time). */
  readonly maxPaintingUploads: number;
  /** Open TCP connections at once; more are closed as they arrive (idle sockets cannot exhaust file descriptors). */
  readonly maxConnections: number;
}

const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 64 * 1024, maxMessagesPerSecond: 50, maxPeers: 16, maxCameraSessions: 2, maxClients: 64, maxVideoSockets: 32, connectTimeoutMs: 15_000, bodyTimeoutMs: 10_000, maxPaintingUploads: 2, maxConnections: 512,
};

/** On a GPU each style runs as its fp16 variant unless the server was started with fp32. */
function gpuVariantFor(options: Pick<ServerOptions, 'fp32' | 'registry'>): { gpuVariant?: (modelPath: string) => string | null } {
  return options.fp32 ? {} : { gpuVariant: (modelPath) => options.registry.gpuVariantPath(modelPath) };
}

/**
 * `stylecast serve`: composes the parts of the live server. One HTTP server
 * (route table: pages, API, WHIP/WHEP), the control channel on `/ws` (its
 * messages: control-messages.ts), the
 * fMP4 stream on `/live.mp4`, one Broadcast (the shared stylized stream) and
 * a table of sessions (viewers, the publisher, cameras). close() closes them
 * all, children first, and resolves when they have ended.
 */
export class StylecastServer {
  private readonly http: Server;
  private readonly router: Router;
  private readonly control: ControlChannel;
  private readonly videoWss: WebSocketServer;
  private readonly sessions: SessionTable;
  private readonly limits: ServerLimits;
  private readonly access: AccessPolicy;
  private readonly statsTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  /** The any-painting model's paintings; null when the server offers no such model. */
  private readonly paintings: PaintingApi | null;
  private janus: JanusPublisher | null = null;
  private readonly pushes: PushOutput[] = [];
  /** The broadcast's sinks that viewers attach to: WebRTC tracks (page, WHEP, Janus) and the fMP4 stream. */
  private readonly rtc = new RtcVideoOutput();
  private readonly fmp4: Fmp4Broadcaster;
  /** The broadcast's and each camera's style, painting mix and stroke scale. */
  private readonly director: StyleDirector;
  private readonly messages: ControlMessages;

  private constructor(private readonly options: ServerOptions, private readonly styles: ServedStyles, private readonly broadcast: Broadcast, gallery: readonly GalleryPainting[]) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.fmp4 = new Fmp4Broadcaster(options.log, options.fps);
    broadcast.addSink(this.rtc); // sinks close with the broadcast
    broadcast.addSink(this.fmp4);
    this.sessions = new SessionTable(this.limits);
    this.access = new AccessPolicy({ host: options.host, token: options.token, allowOrigins: options.allowOrigins ?? [] }, () => this.port);
    const painter = styles.painter();
    this.paintings = painter
      ? new PaintingApi({ painter, device: options.device, gallery, access: this.access, maxUploads: this.limits.maxPaintingUploads, bodyTimeoutMs: this.limits.bodyTimeoutMs })
      : null;
    this.router = this.routes();
    this.director = new StyleDirector({
      styles, broadcast, outputSize: options.size, strokeScale: options.strokeScale ?? 1, paintings: this.paintings,
      camerasOf: (client) => this.messages.camerasOf(client),
      send: (client, message) => this.control.send(client, message),
      sendAll: (message) => this.control.broadcast(message),
    });
    this.messages = new ControlMessages({
      styles, director: this.director, broadcast, sessions: this.sessions, rtc: this.rtc, paintings: this.paintings, size: options.size,
      camera: { device: options.device, threads: options.threads, lanes: options.lanes ?? 0, stabilize: options.stabilize, keepColour: options.keepColour ?? 0, ...gpuVariantFor(options), ...(options.openEngine ? { openEngine: options.openEngine } : {}) },
      connectTimeoutMs: this.limits.connectTimeoutMs, candidateAddress: this.candidateAddress(),
      send: (client, message) => this.control.send(client, message),
      shared: () => ({ broadcast: { ...this.broadcastStats() }, server: { ...this.counts(), rssMb: Math.round(process.memoryUsage().rss / 1e6), uptimeS: Math.round(performance.now() / 1000), janus: this.janus?.status() ?? null, pushes: this.pushes.map((p) => p.status()) } }),
    });
    this.control = new ControlChannel(this.limits, {
      welcome: () => this.messages.welcome(),
      handle: (client, message) => this.messages.handle(client, message),
      left: (client) => {
        this.director.forget(client);
        return this.sessions.closeOwnedBy(client.id);
      },
    }, options.log);
    this.videoWss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    // A peer can hold a request half-sent: headers and whole requests have deadlines.
    const timeouts = { headersTimeout: 10_000, requestTimeout: 30_000 };
    const handle = (req: IncomingMessage, res: import('node:http').ServerResponse) => void this.router.handle(req, res);
    // https.Server has every http.Server method this class uses (listen, close, upgrade, connection caps).
    this.http = options.tls ? (createTlsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key }, handle) as unknown as Server) : createServer(timeouts, handle);
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
    this.http.maxConnections = this.limits.maxConnections;
    this.statsTimer = setInterval(() => this.messages.sendStats(this.control.all), 1000);
  }

  static async start(options: ServerOptions): Promise<StylecastServer> {
    if (!isLoopback(options.host) && !options.token) {
      throw new StylecastError('USAGE', `binding ${options.host} exposes the server beyond this machine: give --token`);
    }
    for (const url of options.push ?? []) parsePushUrl(url); // a bad URL is a usage error before anything starts
    const guarded = guardListener(options.source, options.token);
    if (guarded.note) options.log.info(`note: ${guarded.note}`);
    options = { ...options, source: guarded.spec };
    const styles = new ServedStyles(options.registry, options.preset ?? 'quality', await options.registry.resolve(options.styleId));
    const choice = styles.choose(styles.initial.id);
    if (choice.note) options.log.info(`note: ${choice.note}`);
    const gallery = options.gallery ?? (styles.painter() ? await loadGallery().catch((error: unknown) => {
      options.log.warn(`warning: the painting gallery is not offered: ${describeError(error)}`);
      return [];
    }) : []);
    const broadcast = await Broadcast.open({
      modelPath: choice.entry.onnxPath, device: options.device, threads: options.threads, lanes: options.lanes ?? 0, stabilize: options.stabilize, keepColour: options.keepColour ?? 0,
      source: options.source, size: workingModelSize(options.size, workingSizeOf(choice, options.strokeScale ?? 1)), outputSize: options.size, fps: options.fps, log: options.log,
      ...(options.openEngine ? { openEngine: options.openEngine } : {}),
      ...gpuVariantFor(options),
    });
    const server = new StylecastServer(options, styles, broadcast, gallery);

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
    for (const url of options.push ?? []) {
      const output = new PushOutput(url, options.fps, options.log);
      server.pushes.push(output);
      broadcast.addSink(output); // closed with the broadcast
    }
    if (options.janus) {
      try {
        server.janus = await JanusPublisher.open({ ...options.janus, log: options.log }, server.rtc);
      } catch (error) {
        await server.close();
        throw error;
      }
    }
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  get provider(): string {
    return this.broadcast.stats().provider;
  }

  /** Live objects, for leak checks. */
  counts(): { clients: number; peers: number; cameras: number; resources: number; fmp4Viewers: number } {
    return {
      clients: this.control.size,
      peers: this.sessions.peerCount,
      cameras: this.sessions.cameraCount,
      resources: this.sessions.unownedCount,
      fmp4Viewers: this.fmp4.viewers,
    };
  }

  /** The broadcast's figures and its sinks' audience. */
  private broadcastStats(): BroadcastStats & { webrtcViewers: number; fmp4Viewers: number; fmp4DroppedFragments: number; fmp4RepeatedFrames: number } {
    return {
      ...this.broadcast.stats(),
      webrtcViewers: this.rtc.trackCount,
      fmp4Viewers: this.fmp4.viewers,
      fmp4DroppedFragments: this.fmp4.droppedFragments,
      // Frames /live.mp4 sent again to hold its declared rate while the stylizer was slower.
      fmp4RepeatedFrames: this.fmp4.repeatedFrames,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.statsTimer);
      await this.janus?.close();
      this.control.close();
      this.videoWss.close();
      await this.sessions.closeAll();
      await Promise.all([this.broadcast.close(), this.paintings?.close()]);
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
    })();
    return this.closing;
  }

  private candidateAddress(): string | null {
    return isLoopback(this.options.host) ? '127.0.0.1' : null;
  }

  // ---- WebSocket upgrades ----------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reject = (status: string) => void socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    socket.on('error', () => undefined);
    try {
      if (this.closing) return reject('503 Service Unavailable');
      const url = parseRequestTarget(req.url);
      this.access.check(req);
      this.access.authorize(req, url);
      if (url.pathname === '/ws') return this.control.accept(req, socket, head);
      if (url.pathname === '/live.mp4') {
        if (this.fmp4.viewers >= this.limits.maxVideoSockets) return reject('503 Service Unavailable');
        return this.videoWss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('error', () => undefined);
          ws.on('message', () => undefined);
          this.fmp4.addClient(webSocketSink(ws));
        });
      }
      reject('404 Not Found');
    } catch (error) {
      const code = error instanceof StylecastError ? error.code : 'INTERNAL';
      const status: Record<string, string> = { UNAUTHORIZED: '401 Unauthorized', FORBIDDEN: '403 Forbidden', BAD_REQUEST: '400 Bad Request' };
      reject(status[code] ?? '500 Internal Server Error');
    }
  }

  // ---- HTTP: pages, API, WHIP and WHEP (http/api.ts) ---------------------

  private routes(): Router {
    return apiRouter({
      log: this.options.log, webRoot: this.options.webRoot, access: this.access, limits: this.limits,
      paintings: this.paintings, fmp4: this.fmp4, sessions: this.sessions,
      styles: () => ({ style: this.director.styleId, styles: this.styles.list() }),
      stats: () => ({ style: this.director.styleId, broadcast: this.broadcastStats(), server: this.counts(), janus: this.janus?.status() ?? null, pushes: this.pushes.map((p) => p.status()) }),
      openResource: async (kind, offerSdp) => {
        const common = { offerSdp, candidateAddress: this.candidateAddress(), connectTimeoutMs: this.limits.connectTimeoutMs };
        if (kind === 'whep') {
          const { viewer, answerSdp } = await Viewer.open({ ...common, output: this.rtc, preview: null });
          return { session: viewer, answerSdp };
        }
        const { publisher, answerSdp } = await Publisher.open({ ...common, broadcast: this.broadcast });
        return { session: publisher, answerSdp };
      },
    });
  }
}
