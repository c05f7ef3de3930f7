import type { RtcVideoOutput } from '../webrtc/video.js';
import { PeerSession, checkOffer } from '../webrtc/peer.js';
import { PeerBackedSession } from './peer-backed.js';

export interface ViewerOptions {
  readonly offerSdp: string;
  /** The stylized stream's WebRTC sink: the viewer gets a track of it. */
  readonly output: RtcVideoOutput;
  /** Also send the input (before stylization) as a second track, the page's side-by-side view: the broadcast's preview. */
  readonly preview: RtcVideoOutput | null;
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
    checkOffer(options.offerSdp, VIEWER_DIRECTIONS); // before any track is made: a bad offer costs nothing
    const output = options.output.createTrack();
    const preview = options.preview ? options.preview.createTrack() : null;
    const release = () => {
      options.output.releaseTrack(output);
      if (preview) options.preview?.releaseTrack(preview);
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
