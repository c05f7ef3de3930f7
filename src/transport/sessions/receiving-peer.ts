import type { LiveInputFrame } from '../../pipeline/live.js';
import { PeerSession, type OfferDirection } from '../webrtc/peer.js';
import { receiveVideo } from '../webrtc/video.js';
import type { VideoTrack } from '../webrtc/wrtc.js';

export interface ReceivingPeerOptions {
  readonly offerSdp: string;
  readonly candidateAddress: string | null;
  readonly connectTimeoutMs?: number;
  readonly sendTracks?: readonly VideoTrack[];
  readonly videoDirections: readonly OfferDirection[];
  /** Each decoded frame of the first remote video track (RGBA, and the I420 it came as). */
  readonly onFrame: (frame: LiveInputFrame, i420: Uint8Array) => void;
}

/**
 * A peer connection that receives one video track: what a WHIP publisher and
 * a page's camera have in common. The frame sink stops when the peer closes.
 */
export async function answerReceiving(options: ReceivingPeerOptions): Promise<{ peer: PeerSession; answerSdp: string }> {
  let stop: (() => void) | null = null;
  const { session: peer, answerSdp } = await PeerSession.answer({
    offerSdp: options.offerSdp,
    sendTracks: options.sendTracks,
    candidateAddress: options.candidateAddress,
    videoDirections: options.videoDirections,
        ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    onRemoteTrack: (track) => {
      if (track.kind === 'video' && !stop) stop = receiveVideo(track, options.onFrame);
    },
  });
  peer.onClose(() => (stop as (() => void) | null)?.());
  return { peer, answerSdp };
}
