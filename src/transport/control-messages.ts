import type { EngineFactory } from '../models/engine.js';
import type { FrameSize } from '../core/frame.js';
import type { Device } from '../models/providers.js';
import type { ServedStyles } from '../models/served-styles.js';
import type { Broadcast } from './broadcast.js';
import type { PaintingApi } from './painting-api.js';
import type { ClientMessage, OfferMode, ServerMessage } from './protocol.js';
import { Camera } from './sessions/camera.js';
import type { SessionTable, Session } from './sessions/session-table.js';
import { Viewer } from './sessions/viewer.js';
import type { ControlClient } from './signalling.js';
import type { StyleDirector } from './style-director.js';
import type { RtcVideoOutput } from './webrtc/video.js';

/** What camera sessions are opened with: the server's inference settings. */
export interface CameraSettings {
  readonly device: Device;
  readonly threads: number;
  readonly lanes: number;
  readonly stabilize: boolean;
  readonly keepColour?: number;
  readonly gpuVariant?: (modelPath: string) => string | null;
  readonly openEngine?: EngineFactory;
}

export interface ControlMessagesOptions {
  readonly styles: ServedStyles;
  readonly director: StyleDirector;
  readonly broadcast: Broadcast;
  readonly sessions: SessionTable;
  readonly rtc: RtcVideoOutput;
  readonly paintings: PaintingApi | null;
  readonly size: FrameSize;
  readonly camera: CameraSettings;
  readonly connectTimeoutMs: number;
  readonly candidateAddress: string | null;
  readonly send: (client: ControlClient, message: ServerMessage) => void;
  /** The figures every client gets each second besides its own camera's (broadcast, server). */
  readonly shared: () => Pick<Extract<ServerMessage, { type: 'stats' }>, 'broadcast' | 'server'>;
}

/**
 * The control channel's messages: what a client is told when it joins, what
 * each message it sends does (style, painting and strokes go to the
 * StyleDirector; offers open a viewer or a camera session), and the stats each
 * client is sent every second.
 */
export class ControlMessages {
  constructor(private readonly options: ControlMessagesOptions) {}

  welcome(): ServerMessage {
    const { styles, director, broadcast, size, paintings } = this.options;
    return {
      type: 'welcome',
      styles: styles.list().map(({ id, title }) => ({ id, title })),
      style: director.styleId,
      source: broadcast.sourceName,
      size,
      // The camera is captured at the size the model runs at (the page scales the result up).
      captureSize: director.modelSizeOf(styles.choose(director.styleId)),
      strokeScale: director.strokeScale,
      keepColour: this.options.broadcast.keepColour,
      paintings: paintings?.support() ?? null,
      painting: director.broadcastMix,
    };
  }

  async handle(client: ControlClient, message: ClientMessage): Promise<void> {
    const { director, sessions } = this.options;
    switch (message.type) {
      case 'ping':
        return this.options.send(client, { type: 'pong' });
      case 'stop':
        return sessions.closeOwnedBy(client.id);
      case 'style':
        return director.switchStyle(client, message.id);
      case 'paint':
        return director.paint(client, message);
      case 'strokes':
        return director.setStrokes(client, message.scale);
      case 'colour':
        return director.setKeepColour(client, message.keep);
      case 'offer':
        return this.answerOffer(client, message.mode, message.sdp, message.preview);
    }
  }

  /** One stats message to each client: the shared figures, its own camera's, the broadcast's style. */
  sendStats(clients: readonly ControlClient[]): void {
    if (clients.length === 0) return;
    const { broadcast, server } = this.options.shared();
    for (const client of clients) {
      const camera = this.camerasOf(client)[0];
      this.options.send(client, { type: 'stats', style: this.options.director.styleId, broadcast, camera: camera ? { ...camera.stats() } : null, server });
    }
  }

  camerasOf(client: ControlClient): Camera[] {
    return this.options.sessions.ownedBy(client.id).filter((s): s is Camera => s instanceof Camera);
  }

  private async answerOffer(client: ControlClient, mode: OfferMode, offerSdp: string, preview: boolean): Promise<void> {
    const { sessions, styles, director, camera, candidateAddress, connectTimeoutMs } = this.options;
    const reservation = sessions.reserve(mode === 'camera' ? 'camera' : 'viewer', client.id);
    let session: Session;
    let answerSdp: string;
    try {
      if (mode === 'camera') {
        const choice = styles.choose(director.styleId);
        ({ camera: session, answerSdp } = await Camera.open({
          offerSdp, modelPath: choice.entry.onnxPath, modelSize: director.modelSizeOf(choice), device: camera.device, threads: camera.threads, lanes: camera.lanes,
          stabilize: camera.stabilize, keepColour: camera.keepColour ?? 0, candidateAddress, connectTimeoutMs,
          ...(camera.gpuVariant ? { gpuVariant: camera.gpuVariant } : {}),
          ...(camera.openEngine ? { openEngine: camera.openEngine } : {}),
        }));
      } else {
        ({ viewer: session, answerSdp } = await Viewer.open({ offerSdp, output: this.options.rtc, preview: preview ? this.options.broadcast.preview : null, candidateAddress, connectTimeoutMs }));
      }
    } catch (error) {
      reservation.cancel();
      throw error;
    }
    reservation.fill(session);
    if (!client.connected) return session.close(); // left during negotiation
    this.options.send(client, { type: 'answer', sdp: answerSdp, session: session.id, mode });
  }
}
