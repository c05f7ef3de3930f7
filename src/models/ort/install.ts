/**
 * Where onnxruntime-node's native binding and its optional provider libraries are,
 * found by path alone: asking whether CUDA is installed must not load ONNX Runtime
 * (that costs every CLI start about 0.4 s and 13 MB on the main thread).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExecutionProvider } from '../providers.js';

function bindingDirectory(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the provider's shared libraries sit beside the binding (cuda is opt-in). */
export function providerInstalled(provider: ExecutionProvider): boolean {
  if (provider === 'cpu') return true;
  return existsSync(join(bindingDirectory(), 'libonnxruntime_providers_cuda.so'));
}
