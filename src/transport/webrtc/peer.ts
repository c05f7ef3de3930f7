import { randomUUID } from 'node:crypto';
import { StylecastError, describeError } from '../../core/errors.js';
import { createPeerConnection, type PeerConnection, type VideoTrack } from './wrtc.js';

export interface AnswerOptions {
  readonly offerSdp: string;
  /** Tracks the server sends (added after the offer so they reuse its transceivers). */
  readonly sendTracks?: readonly VideoTrack[];
  readonly onRemoteTrack?: (track: VideoTrack) => void;
  /** Keep only candidates on this address in the answer (e.g. 127.0.0.1 when serving loopback). */
  readonly candidateAddress?: string | null;
  readonly gatherTimeoutMs?: number;
  /** A connection that is not up this long after the answer is closed (a peer can leave it half-open). */
  readonly connectTimeoutMs?: number;
  /** The directions the offer's video sections may have (the offerer's view: a viewer's are recvonly). */
  readonly videoDirections?: readonly OfferDirection[];
}

export type OfferDirection = 'sendrecv' | 'sendonly' | 'recvonly';

/** Media sections an offer may carry: the page's view mode has two, WHIP from OBS video and audio. */
export const MAX_MEDIA_SECTIONS = 4;

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

const MAX_SDP_BYTES = 32 * 1024;

/**
 * Cheap checks before anything is spent on an offer: an SDP description of
 * bounded size with at least one video section (an offer without media would
 * make a connection that never carries anything).
 */
export function checkOffer(sdp: unknown, videoDirections?: readonly OfferDirection[]): asserts sdp is string {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0') || sdp.length > MAX_SDP_BYTES) {
    throw new StylecastError('BAD_REQUEST', 'the offer is not an SDP description');
  }
  if (!/^m=video /m.test(sdp)) throw new StylecastError('BAD_REQUEST', 'the offer has no video section');
  // Each media section costs threads and memory in the peer connection: a few are all any client needs.
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  if (sections.length > MAX_MEDIA_SECTIONS) {
    throw new StylecastError('BAD_REQUEST', `the offer has ${sections.length} media sections; at most ${MAX_MEDIA_SECTIONS} are taken`);
  }
  if (!videoDirections) return;
  for (const section of sections.filter((s) => s.startsWith('m=video '))) {
    const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(section)?.[1] ?? 'sendrecv';
    if (direction !== 'inactive' && !videoDirections.includes(direction as OfferDirection)) {
      throw new StylecastError('BAD_REQUEST', `this offer's video must be ${videoDirections.join(' or ')}, not ${direction}`);
    }
  }
}

/** Drops a=candidate lines whose address is not `address`. */
export function filterCandidates(sdp: string, address: string): string {
  return sdp
    .split(/\r\n/)
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === address)
    .join('\r\n');
}

/**
 * One server-side peer connection, answered without trickle ICE (the answer
 * carries every candidate). close() runs once and releases the connection;
 * `closed` resolves when it has, whoever closed it.
 */
export class PeerSession {
  readonly id = randomUUID();
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private isClosed = false;
  private disconnectTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private readonly cleanups: Array<() => void> = [];

  private constructor(private readonly pc: PeerConnection) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === 'connected' && this.connectTimer) {
        clearTimeout(this.connectTimer);
        this.connectTimer = null;
      }
      if (state === 'failed' || state === 'closed') this.close();
      else if (state === 'disconnected') {
        this.disconnectTimer ??= setTimeout(() => this.close(), 5000);
      } else if (this.disconnectTimer) {
        clearTimeout(this.disconnectTimer);
        this.disconnectTimer = null;
      }
    };
  }

  static async answer(options: AnswerOptions): Promise<{ session: PeerSession; answerSdp: string }> {
    const sdp = options.offerSdp;
    checkOffer(sdp, options.videoDirections);
    const session = new PeerSession(createPeerConnection());
    const pc = session.pc;
    try {
      pc.ontrack = (event) => options.onRemoteTrack?.(event.track);
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp });
      } catch (error) {
        throw new StylecastError('BAD_REQUEST', `the offer was refused: ${describeError(error)}`);
      }
      for (const track of options.sendTracks ?? []) pc.addTrack(track);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await session.gatheringComplete(options.gatherTimeoutMs ?? 5000);
      let answerSdp = pc.localDescription?.sdp ?? '';
      if (options.candidateAddress) answerSdp = filterCandidates(answerSdp, options.candidateAddress);
      session.expectConnection(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      return { session, answerSdp };
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /**
   * The offering side (publishing into an SFU such as Janus): sends the tracks,
   * receives nothing; the offer carries every candidate. `accept` takes the
   * answer; a connection not up `connectTimeoutMs` after it is closed.
   */
  static async offer(options: { sendTracks: readonly VideoTrack[]; gatherTimeoutMs?: number; connectTimeoutMs?: number }): Promise<{
    session: PeerSession;
    offerSdp: string;
    accept: (answerSdp: string) => Promise<void>;
  }> {
    const session = new PeerSession(createPeerConnection());
    const pc = session.pc;
    try {
      for (const track of options.sendTracks) pc.addTrack(track);
      await pc.setLocalDescription(await pc.createOffer());
      await session.gatheringComplete(options.gatherTimeoutMs ?? 5000);
      const accept = async (answerSdp: string) => {
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
        } catch (error) {
          session.close();
          throw new StylecastError('BAD_REQUEST', `the answer was refused: ${describeError(error)}`);
        }
        session.expectConnection(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      };
      return { session, offerSdp: pc.localDescription?.sdp ?? '', accept };
    } catch (error) {
      session.close();
      throw error;
    }
  }

  get state(): string {
    return this.isClosed ? 'closed' : this.pc.connectionState;
  }

  /** Runs on close (stop sinks, release tracks). */
  onClose(cleanup: () => void): void {
    if (this.isClosed) cleanup();
    else this.cleanups.push(cleanup);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup();
      } catch {
        // a failing cleanup must not keep the others from running
      }
    }
    this.pc.onconnectionstatechange = null;
    this.pc.ontrack = null;
    this.pc.onicegatheringstatechange = null;
    this.pc.close();
    this.resolveClosed();
  }

  private expectConnection(timeoutMs: number): void {
    if (this.isClosed || this.pc.connectionState === 'connected') return;
    this.connectTimer = setTimeout(() => this.close(), timeoutMs);
  }

  private gatheringComplete(timeoutMs: number): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pc.onicegatheringstatechange = () => {
        if (this.pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
}
