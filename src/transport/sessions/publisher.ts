import { randomUUID } from 'node:crypto';
import { StylecastError } from '../../core/errors.js';
import type { Broadcast } from '../broadcast.js';
import type { PeerSession } from '../webrtc/peer.js';
import { answerReceiving } from './receiving-peer.js';
import { PeerBackedSession } from './peer-backed.js';

export interface PublisherOptions {
  readonly offerSdp: string;
  readonly broadcast: Broadcast;
  readonly candidateAddress: string | null;
  readonly connectTimeoutMs?: number;
}

/** A WHIP publisher: while connected, its video is the broadcast's source. */
export class Publisher extends PeerBackedSession {
  readonly kind = 'publisher';

  private constructor(peer: PeerSession) {
    super(peer);
  }

  static async open(options: PublisherOptions): Promise<{ publisher: Publisher; answerSdp: string }> {
    const { broadcast } = options;
    const ingestId = randomUUID();
    if (!broadcast.attachIngest(ingestId)) throw new StylecastError('BUSY', 'another WHIP publisher is already connected');
    try {
      const { peer, answerSdp } = await answerReceiving({
        offerSdp: options.offerSdp,
        candidateAddress: options.candidateAddress,
        videoDirections: ['sendonly'], // WHIP: the publisher only sends
        ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        onFrame: (frame, i420) => broadcast.pushIngest(ingestId, frame, i420),
      });
      peer.onClose(() => broadcast.detachIngest(ingestId));
      return { publisher: new Publisher(peer), answerSdp };
    } catch (error) {
      broadcast.detachIngest(ingestId);
      throw error;
    }
  }
}
