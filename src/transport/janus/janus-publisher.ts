/**
 * Publishes the broadcast once into a Janus VideoRoom, so viewers connect to
 * Janus (any number of Janus instances, on other machines) instead of to the
 * stylizing host.
 */
import { StylecastError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { RtcVideoOutput } from '../webrtc/video.js';
import { PeerSession } from '../webrtc/peer.js';
import type { VideoTrack } from '../webrtc/wrtc.js';
import { JANODE_EVENT, attachVideoRoom, connectJanus, withTimeout, type JanodeConnection, type JanodeSession, type VideoRoomHandle } from './janode.js';
import { retryDelayMs } from '../../core/backoff.js';

export interface JanusOptions {
  /** Janus's WebSocket API, e.g. ws://127.0.0.1:8188 */
  readonly url: string;
  /** The VideoRoom room (made if missing). */
  readonly room: number;
  readonly display?: string;
  /** Bitrate cap Janus asks the publisher to keep under (bits/s). */
  readonly bitrate?: number;
  readonly log: Logger;
  /** How long one attempt (connect, join, negotiate) may take. */
  readonly timeoutMs?: number;
}

export interface JanusStatus {
  readonly url: string;
  readonly room: number;
  readonly state: 'connecting' | 'publishing' | 'retrying' | 'closed';
  readonly feed: number | null;
  readonly publishes: number;
  readonly lastError: string | null;
}


/** One attempt's resources, torn down together. */
interface Attempt {
  connection: JanodeConnection | null;
  session: JanodeSession | null;
  handle: VideoRoomHandle | null;
  peer: PeerSession | null;
  track: VideoTrack | null;
}

/**
 * The broadcast as one VideoRoom publisher. `open()` publishes once or fails
 * with one line (a wrong URL is a start-up error); afterwards a lost Janus,
 * session or peer connection is retried with backoff, logged once per change.
 * close() ends it all and stops retrying.
 */
export class JanusPublisher {
  private attempt: Attempt | null = null;
  private state: JanusStatus['state'] = 'connecting';
  private feed: number | null = null;
  private publishes = 0;
  private failures = 0;
  private lastError: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly options: JanusOptions, private readonly output: RtcVideoOutput) {}

  /** Publishes the tracks of `output` (the broadcast's WebRTC sink). */
  static async open(options: JanusOptions, output: RtcVideoOutput): Promise<JanusPublisher> {
    const publisher = new JanusPublisher(options, output);
    try {
      await publisher.publish();
    } catch (error) {
      await publisher.close();
      throw new StylecastError('USAGE', `cannot publish to Janus at ${options.url} (room ${options.room}): ${describeError(error)}`);
    }
    return publisher;
  }

  status(): JanusStatus {
    return { url: this.options.url, room: this.options.room, state: this.state, feed: this.feed, publishes: this.publishes, lastError: this.lastError };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.teardown();
  }

  private async publish(): Promise<void> {
    const attempt: Attempt = { connection: null, session: null, handle: null, peer: null, track: null };
    this.attempt = attempt;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const { room } = this.options;
    try {
      attempt.connection = await connectJanus(this.options.url, timeoutMs);
      attempt.connection.once(JANODE_EVENT.CONNECTION_CLOSED!, () => this.lost(attempt, 'the connection to Janus closed'));
      attempt.connection.on(JANODE_EVENT.CONNECTION_ERROR!, (error) => this.lost(attempt, `the connection to Janus failed: ${describeError(error)}`));
      ({ session: attempt.session, handle: attempt.handle } = await attachVideoRoom(attempt.connection, timeoutMs));
      attempt.handle.on(JANODE_EVENT.HANDLE_HANGUP!, () => this.lost(attempt, 'Janus hung up the publisher'));
      attempt.handle.on(JANODE_EVENT.HANDLE_DETACHED!, () => this.lost(attempt, 'Janus detached the publisher'));
      const { exists } = await withTimeout(attempt.handle.exists({ room }), timeoutMs, 'looking up the room');
      if (!exists) {
        await withTimeout(attempt.handle.create({ room, description: 'stylecast', max_publishers: 4, videocodec: 'vp8', bitrate: this.options.bitrate ?? 2_000_000, fir_freq: 5 }), timeoutMs, 'creating the room');
      }
      attempt.track = this.output.createTrack();
      const { session: peer, offerSdp, accept } = await PeerSession.offer({ sendTracks: [attempt.track] });
      attempt.peer = peer;
      peer.onClose(() => this.lost(attempt, 'the peer connection to Janus closed'));
      const joined = await withTimeout(
        attempt.handle.joinConfigurePublisher({ room, display: this.options.display ?? 'stylecast', audio: false, video: true, jsep: { type: 'offer', sdp: offerSdp } }),
        timeoutMs, 'joining the room',
      );
      if (!joined.jsep) throw new StylecastError('BAD_REQUEST', 'Janus answered the publisher without SDP');
      await accept(joined.jsep.sdp);
      this.feed = joined.feed;
      this.publishes++;
      this.failures = 0;
      this.state = 'publishing';
      this.options.log.info(`janus: publishing the broadcast to ${this.options.url} room ${room} (feed ${joined.feed})`);
    } catch (error) {
      await this.teardown();
      throw error;
    }
  }

  /** Something of the current attempt went away: tear it down and try again later (events of older attempts are ignored). */
  private lost(attempt: Attempt, reason: string): void {
    if (this.closed || attempt !== this.attempt || this.state !== 'publishing') return;
    this.state = 'retrying';
    this.lastError = reason;
    this.options.log.warn(`janus: ${reason}; publishing again shortly`);
    void this.teardown().then(() => this.scheduleRetry());
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = retryDelayMs(this.failures);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.closed) return;
      this.publish().catch((error: unknown) => {
        this.failures++;
        const message = describeError(error);
        if (message !== this.lastError) this.options.log.warn(`janus: publishing failed: ${message}; retrying`);
        this.lastError = message;
        this.scheduleRetry();
      });
    }, delay);
  }

  private async teardown(): Promise<void> {
    const attempt = this.attempt;
    this.attempt = null;
    if (!attempt) return;
    this.feed = null;
    attempt.peer?.close();
    if (attempt.track) this.output.releaseTrack(attempt.track);
    // Janus may already be gone: each step is best effort, bounded in time.
    const bounded = (step: Promise<unknown> | undefined) => (step ? withTimeout(step, 2000, 'closing').catch(() => undefined) : undefined);
    await bounded(attempt.handle?.detach());
    await bounded(attempt.session?.destroy());
    await bounded(attempt.connection?.close());
  }
}
