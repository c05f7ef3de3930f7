import { StylecastError } from '../core/errors.js';
import type { FrameSize } from '../core/frame.js';
import type { Conditioning } from '../models/contract.js';
import type { ModelChoice } from '../models/registry.js';
import type { ServedStyles } from '../models/served-styles.js';
import { workingModelSize, type WorkingSize } from '../pipeline/sizing.js';
import type { Broadcast } from './broadcast.js';
import { NewestWins } from './newest-wins.js';
import type { PaintingApi } from './painting-api.js';
import type { PaintingMixMessage, ServerMessage } from './protocol.js';
import type { Camera } from './sessions/camera.js';
import type { ControlClient } from './signalling.js';

/** After a model load, the next switch on the same target waits this long (frames flow meanwhile). */
const MODEL_LOAD_INTERVAL_MS = 500;

interface StyleJob {
  readonly client: ControlClient;
  readonly id: string;
  readonly mix: PaintingMixMessage | null;
  readonly choice: ModelChoice;
  readonly conditioning: Conditioning | null;
  readonly strokeScale: number;
  readonly cameras: readonly Camera[];
}

interface AppliedStyle {
  readonly id: string;
  readonly mix: PaintingMixMessage | null;
  readonly strokeScale: number;
}

export interface StyleDirectorOptions {
  readonly styles: ServedStyles;
  readonly broadcast: Broadcast;
  /** The stream's output size: model sizes follow from it. */
  readonly outputSize: FrameSize;
  readonly strokeScale: number;
  readonly paintings: PaintingApi | null;
  /** The camera sessions a control client owns. */
  readonly camerasOf: (client: ControlClient) => Camera[];
  readonly send: (client: ControlClient, message: ServerMessage) => void;
  readonly sendAll: (message: ServerMessage) => void;
}

/**
 * What runs where: the broadcast's style, painting mix and stroke scale, and
 * each client's camera style. A request names a target (the client's camera
 * when it has one, else the broadcast), is checked at once (a bad id or
 * painting is the sender's error) and is applied newest-wins per target, so a
 * burst of switches loads one model, not a queue. A style's model size follows
 * its model scale, working size and the stroke scale.
 */
export class StyleDirector {
  private broadcastStyle: AppliedStyle;
  private readonly queues = new Map<string, NewestWins<StyleJob>>();
  private readonly applied = new Map<string, AppliedStyle>();

  constructor(private readonly options: StyleDirectorOptions) {
    this.broadcastStyle = { id: options.styles.initial.id, mix: null, strokeScale: options.strokeScale };
  }

  get styleId(): string {
    return this.broadcastStyle.id;
  }

  get broadcastMix(): PaintingMixMessage | null {
    return this.broadcastStyle.mix;
  }

  get strokeScale(): number {
    return this.broadcastStyle.strokeScale;
  }

  /** The model size a style runs at on this stream. */
  modelSizeOf(choice: ModelChoice, strokeScale = this.strokeScale): FrameSize {
    return workingModelSize(this.options.outputSize, workingSizeOf(choice, strokeScale));
  }

  /** A style from the list. Choosing the any-painting model keeps the broadcast's last painting mix (none yet: the frame unpainted). */
  switchStyle(client: ControlClient, id: string): Promise<void> {
    return this.apply(client, id, id === this.options.styles.painter()?.id ? this.broadcastMix : null);
  }

  /** A painting mix (uploaded paintings, blend, strength) on the any-painting model. */
  paint(client: ControlClient, mix: PaintingMixMessage): Promise<void> {
    const painter = this.options.styles.painter();
    if (!painter) throw new StylecastError('NOT_FOUND', 'this server has no any-painting model');
    return this.apply(client, painter.id, mix);
  }

  /** A new stroke scale for the client's target: its current style again at the new working size. */
  setStrokes(client: ControlClient, scale: number): Promise<void> {
    const key = this.targetOf(client).key;
    const current = this.applied.get(key) ?? (key === 'broadcast' ? this.broadcastStyle : { id: this.styleId, mix: null });
    return this.apply(client, current.id, current.mix, scale);
  }

  /**
   * How much of the frames' own colour to keep, on the client's camera when it has
   * one, else on the broadcast. No model reload: the next frame shows it.
   */
  setKeepColour(client: ControlClient, keep: number): void {
    const { cameras } = this.targetOf(client);
    if (cameras.length > 0) {
      for (const camera of cameras) camera.setKeepColour(keep);
      this.options.send(client, { type: 'colour', keep, target: 'camera' });
      return;
    }
    this.options.broadcast.setKeepColour(keep);
    this.options.sendAll({ type: 'colour', keep, target: 'broadcast' });
  }

  /** A client left: its camera's pending switches and style go with it. */
  forget(client: ControlClient): void {
    this.queues.delete(cameraKey(client));
    this.applied.delete(cameraKey(client));
  }

  private targetOf(client: ControlClient): { key: string; cameras: Camera[] } {
    const cameras = this.options.camerasOf(client);
    return { key: cameras.length > 0 ? cameraKey(client) : 'broadcast', cameras };
  }

  private apply(client: ControlClient, id: string, mix: PaintingMixMessage | null, strokeScale?: number): Promise<void> {
    const choice = this.options.styles.choose(id);
    const conditioning = mix ? this.conditioningFor(mix) : null;
    const { key, cameras } = this.targetOf(client);
    const strokes = strokeScale ?? this.applied.get(key)?.strokeScale ?? this.strokeScale;
    this.applied.set(key, { id, mix, strokeScale: strokes });
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new NewestWins((job: StyleJob) => this.switchTo(job), MODEL_LOAD_INTERVAL_MS);
      this.queues.set(key, queue);
    }
    return queue.submit({ client, id, mix, choice, conditioning, cameras, strokeScale: strokes });
  }

  /** Returns whether a model was loaded (the next switch then waits a moment: frames flow between loads). */
  private async switchTo({ client, id, mix, choice, conditioning, cameras, strokeScale }: StyleJob): Promise<boolean> {
    const model = choice.entry.onnxPath;
    // Styles differ in model scale (a fast variant at half size, a sub-pixel one at full) and working size: the frames follow.
    const modelSize = this.modelSizeOf(choice, strokeScale);
    if (cameras.length > 0) {
      const loads = cameras.some((camera) => camera.modelPath !== model);
      for (const camera of cameras) await camera.setModel(model, conditioning, modelSize);
      this.options.send(client, { type: 'style', id, target: 'camera', painting: mix, strokeScale });
      return loads;
    }
    const { broadcast } = this.options;
    const loads = broadcast.modelPath !== model;
    await broadcast.setModel(model, conditioning, modelSize);
    this.broadcastStyle = { id, mix, strokeScale };
    this.options.sendAll({ type: 'style', id, target: 'broadcast', painting: mix, strokeScale });
    return loads;
  }

  private conditioningFor(mix: PaintingMixMessage): Conditioning {
    if (!this.options.paintings) throw new StylecastError('NOT_FOUND', 'this server has no any-painting model');
    return this.options.paintings.conditioningFor(mix);
  }
}

export function workingSizeOf(choice: ModelChoice, strokeScale: number): WorkingSize {
  return { modelScale: choice.modelScale, nativeShortSide: choice.nativeShortSide, strokeScale };
}

function cameraKey(client: ControlClient): string {
  return `camera:${client.id}`;
}
