import type { PeerSession } from '../webrtc/peer.js';
import type { Session, SessionKind } from './session-table.js';

/**
 * What Viewer, Publisher and Camera share: one peer connection whose end is
 * the session's end. close() closes the peer; what hangs on it was registered
 * with `peer.onClose` when the session opened.
 */
export abstract class PeerBackedSession implements Session {
  abstract readonly kind: SessionKind;

  protected constructor(protected readonly peer: PeerSession) {}

  get id(): string {
    return this.peer.id;
  }

  get closed(): Promise<void> {
    return this.peer.closed;
  }

  close(): void {
    this.peer.close();
  }
}
