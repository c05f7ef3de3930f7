import type { Device } from '../models/providers.js';
import { LiveStylizer, type LiveStylizerStats } from '../pipeline/live.js';
import { PeerSession } from './webrtc/peer.js';
import { RtcVideoOutput, receiveVideo } from './webrtc/video.js';

export interface CameraSessionOptions {
  readonly offerSdp: string;
  readonly modelPath: string;
  readonly device: Device;
  readonly threads: number;
  readonly stabilize: boolean;
  readonly candidateAddress: string | null;
}

/**
 * The browser camera round trip: the page's camera comes in on a peer
 * connection, is stylized by this session's own stylizer, and goes back on the
 * same connection (the answer reuses the offer's transceiver as sendrecv).
 */
export class CameraSession {
  private constructor(readonly peer: PeerSession, private readonly stylizer: LiveStylizer) {}

  static async open(options: CameraSessionOptions): Promise<{ session: CameraSession; answerSdp: string }> {
    const stylizer = await LiveStylizer.open(options);
    const output = new RtcVideoOutput();
    const track = output.createTrack();
    const frames = stylizer.frames$.subscribe((frame) => output.pushRgba(frame.width, frame.height, frame.rgba));
    const receiving: { stop: (() => void) | null } = { stop: null };
    try {
      const { session: peer, answerSdp } = await PeerSession.answer({
        offerSdp: options.offerSdp,
        sendTracks: [track],
        candidateAddress: options.candidateAddress,
        onRemoteTrack: (remote) => {
          if (remote.kind !== 'video' || receiving.stop) return;
          receiving.stop = receiveVideo(remote, (frame) => stylizer.push(frame));
        },
      });
      peer.onClose(() => {
        receiving.stop?.();
        frames.unsubscribe();
        output.close();
        void stylizer.close();
      });
      return { session: new CameraSession(peer, stylizer), answerSdp };
    } catch (error) {
      receiving.stop?.();
      frames.unsubscribe();
      output.close();
      await stylizer.close();
      throw error;
    }
  }

  get id(): string {
    return this.peer.id;
  }

  setModel(modelPath: string): Promise<void> {
    return this.stylizer.setModel(modelPath);
  }

  stats(): LiveStylizerStats {
    return this.stylizer.snapshot();
  }

  close(): void {
    this.peer.close();
  }
}
