import type { Conditioning } from '../../models/contract.js';
import type { Device } from '../../models/providers.js';
import { LiveStylizer, type LiveStylizerStats } from '../../pipeline/live.js';
import { checkOffer, type PeerSession } from '../webrtc/peer.js';
import { RtcVideoOutput } from '../webrtc/video.js';
import { answerReceiving } from './receiving-peer.js';
import { PeerBackedSession } from './peer-backed.js';

export interface CameraOptions {
  readonly offerSdp: string;
  readonly modelPath: string;
  readonly device: Device;
  readonly threads: number;
  readonly lanes?: number;
  readonly stabilize: boolean;
  readonly candidateAddress: string | null;
  readonly connectTimeoutMs?: number;
}

/**
 * The page's camera round trip: its camera comes in on a peer connection, is
 * stylized by this session's own stylizer, and goes back on the same
 * connection (the answer reuses the offer's transceiver as sendrecv).
 */
export class Camera extends PeerBackedSession {
  readonly kind = 'camera';

  /** Resolves when the peer has closed and the stylizer (its worker thread) has ended. */
  private readonly released: Promise<void>;

  private constructor(peer: PeerSession, private readonly stylizer: LiveStylizer, released: Promise<void>) {
    super(peer);
    this.released = released;
  }

  override get closed(): Promise<void> {
    return this.peer.closed.then(() => this.released);
  }

  static async open(options: CameraOptions): Promise<{ camera: Camera; answerSdp: string }> {
    checkOffer(options.offerSdp); // before the model loads: a bad offer costs nothing
    const stylizer = await LiveStylizer.open(options);
    const output = new RtcVideoOutput();
    const track = output.createTrack();
    const frames = stylizer.frames$.subscribe((frame) => output.pushRgba(frame.width, frame.height, frame.rgba));
    let stylizerClosed: Promise<void> | null = null;
    const release = () => {
      frames.unsubscribe();
      output.close();
      stylizerClosed ??= stylizer.close();
      return stylizerClosed;
    };
    try {
      const { peer, answerSdp } = await answerReceiving({
        offerSdp: options.offerSdp,
        sendTracks: [track],
        candidateAddress: options.candidateAddress,
        ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        onFrame: (frame) => stylizer.push(frame),
      });
      const released = new Promise<void>((resolve) => peer.onClose(() => void release().then(resolve, resolve)));
      return { camera: new Camera(peer, stylizer, released), answerSdp };
    } catch (error) {
      await release();
      throw error;
    }
  }

  setModel(modelPath: string, conditioning: Conditioning | null = null): Promise<void> {
    return this.stylizer.setModel(modelPath, conditioning);
  }

  stats(): LiveStylizerStats {
    return this.stylizer.snapshot();
  }
}
