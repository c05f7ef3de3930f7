/**
 * Where onnxruntime-node's native binding and its optional provider libraries are,
 * found by path alone: asking whether CUDA is installed must not load ONNX Runtime
 * (that costs every CLI start about 0.4 s and 13 MB on the main thread).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExecutionProvider } from '../providers.js';

function bindingDirectory(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Vulkan driver manifests (the loader's search folders on Linux). */
const VULKAN_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/**
 * Whether a GPU Vulkan driver is installed (Linux): WebGPU in onnxruntime-node runs on
 * Vulkan there. Mesa's software rasterizer (lavapipe) does not count: Dawn finds no
 * adapter on it and would only print warnings at every start.
 */
export function gpuVulkanDriver(dirs: readonly string[] = VULKAN_ICD_DIRS): boolean {
  return dirs.some((dir) => {
    try {
      return readdirSync(dir).some((name) => name.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(name));
    } catch {
      return false;
    }
  });
}

/**
 * Whether a provider can be tried here: CUDA when its opt-in libraries sit beside the
 * binding; WebGPU (bundled) on Windows and macOS, and on Linux when a GPU Vulkan driver is installed.
 */
export function providerInstalled(provider: ExecutionProvider): boolean {
  if (provider === 'cpu') return true;
  if (provider === 'webgpu') return process.platform !== 'linux' || gpuVulkanDriver();
  return existsSync(join(bindingDirectory(), 'libonnxruntime_providers_cuda.so'));
}
