import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { StylecastError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { parseClientMessage, type ClientMessage, type ServerMessage } from './protocol.js';

export interface ControlLimits {
  readonly maxMessageBytes: number;
  readonly maxMessagesPerSecond: number;
  readonly maxClients: number;
}

/** One page connected to `/ws`. */
export interface ControlClient {
  readonly id: string;
  /** False once the socket has gone (a handler still awaiting can check before it commits). */
  readonly connected: boolean;
}

export interface ControlHandlers {
  /** The first message every client gets. */
  welcome(): ServerMessage;
  /** One valid message; a thrown error goes back to the client as an `error` message. */
  handle(client: ControlClient, message: ClientMessage): Promise<void>;
  /** The client has gone (closed, failed, kicked, or the channel closed). */
  left(client: ControlClient): void;
}

class Client implements ControlClient {
  readonly id = randomUUID().slice(0, 8);
  connected = true;
  windowStart = Date.now();
  messagesInWindow = 0;

  constructor(readonly ws: WebSocket) {}
}

/**
 * The control WebSocket: accepts clients up to a cap, limits message size and
 * rate, validates every message against the protocol and hands valid ones to
 * the handlers. It knows nothing of sessions or models.
 */
export class ControlChannel {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();

  constructor(private readonly limits: ControlLimits, private readonly handlers: ControlHandlers, private readonly log: Logger) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  }

  get size(): number {
    return this.clients.size;
  }

  get all(): readonly ControlClient[] {
    return [...this.clients];
  }

  /** Takes over an HTTP upgrade to `/ws` (the caller has checked access). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.clients.size >= this.limits.maxClients) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new Client(ws);
      this.clients.add(client);
      ws.on('error', () => undefined);
      ws.on('close', () => this.drop(client));
      ws.on('message', (data: RawData, isBinary: boolean) => void this.receive(client, data, isBinary));
      this.send(client, this.handlers.welcome());
    });
  }

  send(client: ControlClient, message: ServerMessage): void {
    const { ws } = client as Client;
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message), () => undefined);
  }

  sendError(client: ControlClient, error: unknown): void {
    const code = error instanceof StylecastError ? error.code : 'INTERNAL';
    this.send(client, { type: 'error', code, message: describeError(error) });
  }

  broadcast(message: ServerMessage): void {
    for (const client of this.clients) this.send(client, message);
  }

  /** Closes every client socket (1001 going away). */
  close(): void {
    for (const client of this.clients) this.drop(client, 1001, 'server closing');
    this.wss.close();
  }

  private drop(client: Client, code?: number, reason?: string): void {
    if (!this.clients.delete(client)) return;
    client.connected = false;
    if (code) client.ws.close(code, reason);
    else client.ws.terminate();
    this.handlers.left(client);
  }

  private async receive(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    const now = Date.now();
    if (now - client.windowStart >= 1000) {
      client.windowStart = now;
      client.messagesInWindow = 0;
    }
    if (++client.messagesInWindow > this.limits.maxMessagesPerSecond) {
      this.log.warn(`ws ${client.id}: more than ${this.limits.maxMessagesPerSecond} messages/s, closing`);
      this.drop(client, 1008, 'too many messages');
      return;
    }
    const parsed = isBinary ? { ok: false as const, reason: 'binary messages are not accepted' } : parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.log.warn(`ws ${client.id}: ${parsed.reason}`);
      this.sendError(client, new StylecastError('BAD_REQUEST', parsed.reason));
      return;
    }
    try {
      await this.handlers.handle(client, parsed.value);
    } catch (error) {
      this.log.warn(`ws ${client.id}: ${parsed.value.type} failed: ${describeError(error)}`);
      this.sendError(client, error);
    }
  }
}
