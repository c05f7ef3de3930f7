import { StylecastError } from '../../core/errors.js';

export type SessionKind = 'viewer' | 'publisher' | 'camera';

/** What every live session (one peer connection and what hangs on it) offers its owner. */
export interface Session {
  readonly id: string;
  readonly kind: SessionKind;
  /** Resolves once the session has closed, whoever closed it. */
  readonly closed: Promise<void>;
  close(): void;
}

export interface SessionLimits {
  /** Peer connections of every kind. */
  readonly maxPeers: number;
  readonly maxCameraSessions: number;
}

/**
 * A place held in the table before any await: open the session, then `fill`
 * it, or `cancel` on failure. Holding places synchronously is what keeps
 * parallel requests from all passing the cap check before any is counted.
 */
export interface Reservation {
  fill(session: Session): void;
  cancel(): void;
}

/**
 * Every live session of a server, by id, with the caps. An owner (a control
 * socket's id, or null for WHIP/WHEP resources) can close all of its own.
 */
export class SessionTable {
  private readonly sessions = new Map<string, { session: Session; owner: string | null }>();
  private reservedPeers = 0;
  private reservedCameras = 0;
  private closedAll = false;

  constructor(private readonly limits: SessionLimits) {}

  get peerCount(): number {
    return this.sessions.size + this.reservedPeers;
  }

  get cameraCount(): number {
    let cameras = this.reservedCameras;
    for (const { session } of this.sessions.values()) if (session.kind === 'camera') cameras++;
    return cameras;
  }

  /** Holds a place for a session of this kind, or throws BUSY. */
  reserve(kind: SessionKind, owner: string | null): Reservation {
    if (this.closedAll) throw new StylecastError('BUSY', 'the server is closing');
    if (this.peerCount >= this.limits.maxPeers) throw new StylecastError('BUSY', `at most ${this.limits.maxPeers} peer connections at once`);
    if (kind === 'camera' && this.cameraCount >= this.limits.maxCameraSessions) {
      throw new StylecastError('BUSY', `at most ${this.limits.maxCameraSessions} camera sessions at once`);
    }
    this.reservedPeers++;
    if (kind === 'camera') this.reservedCameras++;
    let settled = false;
    const release = () => {
      if (settled) return false;
      settled = true;
      this.reservedPeers--;
      if (kind === 'camera') this.reservedCameras--;
      return true;
    };
    return {
      fill: (session) => {
        if (!release()) throw new Error('reservation already settled');
        if (this.closedAll) return session.close();
        this.sessions.set(session.id, { session, owner });
        void session.closed.then(() => this.sessions.delete(session.id));
      },
      cancel: () => void release(),
    };
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id)?.session;
  }

  /** Sessions that belong to no control client (WHIP/WHEP resources). */
  get unownedCount(): number {
    let n = 0;
    for (const { owner } of this.sessions.values()) if (owner === null) n++;
    return n;
  }

  ownedBy(owner: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.owner === owner).map((s) => s.session);
  }

  closeOwnedBy(owner: string): void {
    for (const session of this.ownedBy(owner)) session.close();
  }

  /** Closes every session; later reservations are refused. */
  async closeAll(): Promise<void> {
    this.closedAll = true;
    const all = [...this.sessions.values()].map((s) => s.session);
    for (const session of all) session.close();
    await Promise.all(all.map((s) => s.closed));
  }
}
