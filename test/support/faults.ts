import type { EngineFactory, EngineOptions } from '../../dist/models/engine.js';
import { StyleEngine } from '../../dist/models/engine.js';

/**
 * An engine factory whose engines fail every `n`th frame for real: the frame is
 * sent with a height that does not match its buffer, and the worker refuses it
 * (an InferenceRunError, as a fault in ONNX Runtime would give).
 */
export function failingEvery(n: number): EngineFactory {
  return async (options: EngineOptions) => {
    const engine = await StyleEngine.open(options);
    const run = engine.run.bind(engine);
    let runs = 0;
    engine.run = (frame, conditioning) => run(++runs % n === 0 ? { ...frame, height: frame.height + 4 } : frame, conditioning);
    return engine;
  };
}
