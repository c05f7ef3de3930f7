import { StylecastError } from '../core/errors.js';
import { PeerSession } from '../transport/webrtc/peer.js';
import { createVideoSink, type VideoSink } from '../transport/webrtc/wrtc.js';
import { attachVideoRoom, connectJanus, withTimeout, type JanodeConnection } from '../transport/janus/janode.js';

/**
 * A viewer of a VideoRoom publisher through Janus alone (node-webrtc): for
 * the fan-out benchmark and tests, and for programs that want stylecast's
 * stream from a Janus instance rather than from the stylizing host.
 */
export class JanusViewer {
  private framesReceived = 0;
  private lastI420: { width: number; height: number; data: Uint8Array } | null = null;
  private closed = false;

  private constructor(private readonly connection: JanodeConnection, private readonly peer: PeerSession) {}

  /** Subscribes to the first publisher of `room` (waiting up to `timeoutMs` for one to appear). */
  static async open(url: string, room: number, timeoutMs = 10_000): Promise<JanusViewer> {
    const connection = await connectJanus(url, timeoutMs);
    try {
      const { handle } = await attachVideoRoom(connection, timeoutMs);
      // A publisher that has just joined is listed once its media flows: wait for it, within the timeout.
      const deadline = Date.now() + timeoutMs;
      let feed: number | undefined;
      for (;;) {
        const { participants } = await withTimeout(handle.listParticipants({ room }), timeoutMs, 'listing the room');
        feed = participants.find((p) => p.publisher !== false)?.feed;
        if (feed !== undefined) break;
        if (Date.now() > deadline) throw new StylecastError('NOT_FOUND', `no publisher in Janus room ${room}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const { jsep } = await withTimeout(handle.joinSubscriber({ room, feed, audio: false, video: true }), timeoutMs, 'subscribing');
      if (!jsep) throw new StylecastError('BAD_REQUEST', 'Janus offered no SDP to the subscriber');
      let viewer: JanusViewer | null = null;
      const sinks: VideoSink[] = [];
      const { session, answerSdp } = await PeerSession.answer({
        offerSdp: jsep.sdp,
        onRemoteTrack: (track) => {
          const sink = createVideoSink(track);
          sink.onframe = ({ frame }) => {
            if (!viewer) return;
            viewer.framesReceived++;
            viewer.lastI420 = frame;
          };
          sinks.push(sink);
        },
      });
      session.onClose(() => sinks.forEach((sink) => sink.stop()));
      viewer = new JanusViewer(connection, session);
      await withTimeout(handle.start({ jsep: { type: 'answer', sdp: answerSdp } }), timeoutMs, 'starting the subscription');
      return viewer;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  get frames(): number {
    return this.framesReceived;
  }

  /** The last frame received, as I420 (the caller converts if it needs RGB). */
  get lastFrame(): { width: number; height: number; data: Uint8Array } | null {
    return this.lastI420;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.peer.close();
    await withTimeout(this.connection.close(), 2000, 'closing').catch(() => undefined);
  }
}
