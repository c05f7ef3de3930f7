import type { EngineFactory } from '../../models/engine.js';
import type { FrameSize } from '../../core/frame.js';
import type { Conditioning } from '../../models/contract.js';
import type { Device } from '../../models/providers.js';
import { LiveStylizer, type LiveInputFrame, type LiveStylizerStats } from '../../pipeline/live.js';
import { resizeBilinear } from '../../pipeline/resize.js';
import { checkOffer, type PeerSession } from '../webrtc/peer.js';
import { RtcVideoOutput } from '../webrtc/video.js';
import { answerReceiving } from './receiving-peer.js';
import { PeerBackedSession } from './peer-backed.js';

/** The page's camera sends its picture and receives it back on the same section. */
const CAMERA_DIRECTIONS = ['sendrecv'] as const;

export interface CameraOptions {
  readonly offerSdp: string;
  readonly modelPath: string;
  /** The size the model runs at: camera frames of any other size are scaled to it before inference. */
  readonly modelSize: FrameSize;
  readonly device: Device;
  readonly threads: number;
  readonly lanes?: number;
  readonly stabilize: boolean;
  /** See LiveStylizerOptions.keepColour. */
  readonly keepColour?: number;
  /** The fp16 variant to run on a GPU (StyleEngine's gpuVariant); absent: models run as given. */
  readonly gpuVariant?: (modelPath: string) => string | null;
  /** See LiveStylizerOptions.openEngine. */
  readonly openEngine?: EngineFactory;
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

  private constructor(peer: PeerSession, private readonly stylizer: LiveStylizer, private readonly input: CameraInput, released: Promise<void>) {
    super(peer);
    this.released = released;
  }

  override get closed(): Promise<void> {
    return this.peer.closed.then(() => this.released);
  }

  static async open(options: CameraOptions): Promise<{ camera: Camera; answerSdp: string }> {
    checkOffer(options.offerSdp, CAMERA_DIRECTIONS); // before the model loads: a bad offer costs nothing
    const stylizer = await LiveStylizer.open(options);
    const input = new CameraInput(options.modelSize, (frame) => stylizer.push(frame));
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
        onFrame: (frame) => input.handle(frame),
        videoDirections: CAMERA_DIRECTIONS,
      });
      const released = new Promise<void>((resolve) => peer.onClose(() => void release().then(resolve, resolve)));
      return { camera: new Camera(peer, stylizer, input, released), answerSdp };
    } catch (error) {
      await release();
      throw error;
    }
  }

  get modelPath(): string {
    return this.stylizer.modelPath;
  }

  /** Switches the model; `modelSize` is the new model's size (styles differ in model scale). */
  /** See LiveStylizer.setKeepColour. */
  setKeepColour(keepColour: number): void {
    this.stylizer.setKeepColour(keepColour);
  }

  async setModel(modelPath: string, conditioning: Conditioning | null = null, modelSize: FrameSize = this.input.size): Promise<void> {
    await this.stylizer.setModel(modelPath, conditioning);
    this.input.size = modelSize;
  }

  stats(): LiveStylizerStats & { modelSize: string } {
    return { ...this.stylizer.snapshot(), modelSize: `${this.input.size.width}x${this.input.size.height}` };
  }
}

/**
 * Camera frames on their way to the model: whatever size the browser sends
 * (a page may ignore the capture size it was given, or send 4K), the model
 * gets the size its style runs at, so one peer cannot make inference cost more.
 */
class CameraInput {
  constructor(public size: FrameSize, private readonly push: (frame: LiveInputFrame) => void) {}

  handle(frame: LiveInputFrame): void {
    const { width, height } = this.size;
    if (frame.width === width && frame.height === height) return this.push(frame);
    const data = new Uint8Array(width * height * frame.channels);
    resizeBilinear(frame.data, frame.width, frame.height, data, width, height, frame.channels);
    this.push({ width, height, channels: frame.channels, data, receivedAt: frame.receivedAt });
  }
}
