import type { Broadcast } from '../broadcast.js';
import { PeerSession, checkOffer } from '../webrtc/peer.js';
import { PeerBackedSession } from './peer-backed.js';

export interface ViewerOptions {
  readonly offerSdp: string;
  readonly broadcast: Broadcast;
  /** Also send the input (before stylization) as a second track: the page's side-by-side view. */
  readonly preview: boolean;
  readonly candidateAddress: string | null;
  readonly connectTimeoutMs?: number;
}

/** A viewer (WHEP, the page's view mode) only receives. */
const VIEWER_DIRECTIONS = ['recvonly'] as const;

/** One WebRTC viewer of the broadcast, whether it came by WHEP or by the page's `/ws` offer. */
export class Viewer extends PeerBackedSession {
  readonly kind = 'viewer';

  private constructor(peer: PeerSession) {
    super(peer);
  }

  static async open(options: ViewerOptions): Promise<{ viewer: Viewer; answerSdp: string }> {
    const { broadcast } = options;
    checkOffer(options.offerSdp, VIEWER_DIRECTIONS); // before any track is made: a bad offer costs nothing
    const output = broadcast.output.createTrack();
    const preview = options.preview ? broadcast.preview.createTrack() : null;
    const release = () => {
      broadcast.output.releaseTrack(output);
      if (preview) broadcast.preview.releaseTrack(preview);
    };
    try {
      const { session, answerSdp } = await PeerSession.answer({
        offerSdp: options.offerSdp,
        sendTracks: preview ? [output, preview] : [output],
        videoDirections: VIEWER_DIRECTIONS,
        candidateAddress: options.candidateAddress,
        ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      });
      session.onClose(release);
      return { viewer: new Viewer(session), answerSdp };
    } catch (error) {
      release();
      throw error;
    }
  }
}
