import { StylecastError, describeError } from '../core/errors.js';

export type Device = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';
export const DEVICES: readonly Device[] = ['auto', 'cuda', 'webgpu', 'cpu'];

/**
 * Which execution providers each --device tries, in order: CUDA (NVIDIA, opt-in
 * libraries), then WebGPU (bundled in onnxruntime-node: Vulkan, D3D12 or Metal
 * underneath, any vendor's GPU), then the CPU.
 */
export const PROVIDER_ORDER: Readonly<Record<Device, readonly ExecutionProvider[]>> = {
  auto: ['cuda', 'webgpu', 'cpu'],
  cuda: ['cuda'],
  webgpu: ['webgpu'],
  cpu: ['cpu'],
};

export function parseDevice(text: string): Device {
  if ((DEVICES as readonly string[]).includes(text)) return text as Device;
  throw new StylecastError('USAGE', `unknown device "${text}": use ${DEVICES.join(', ')}`);
}

export interface Selected<T> {
  readonly value: T;
  readonly provider: ExecutionProvider;
  /** Providers tried before the one that loaded, and why each was passed over. */
  readonly skipped: ReadonlyArray<{ provider: ExecutionProvider; reason: string }>;
}

/**
 * Tries each provider of the device's order. `auto` falls back to the next;
 * an explicit device that cannot load is an error, never a silent fallback.
 */
export async function selectProvider<T>(
  device: Device,
  tryCreate: (provider: ExecutionProvider) => Promise<T>,
): Promise<Selected<T>> {
  const skipped: Array<{ provider: ExecutionProvider; reason: string }> = [];
  for (const provider of PROVIDER_ORDER[device]) {
    try {
      return { value: await tryCreate(provider), provider, skipped };
    } catch (error) {
      if (error instanceof StylecastError && error.code === 'MODEL_INVALID') throw error;
      skipped.push({ provider, reason: describeError(error) });
    }
  }
  const reasons = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
  if (device === 'webgpu') {
    throw new StylecastError(
      'DEVICE_UNAVAILABLE',
      `--device webgpu: no WebGPU adapter could be used (${reasons}). It needs a GPU with a Vulkan (Linux), D3D12 (Windows) or Metal (macOS) driver; use --device cpu otherwise.`,
    );
  }
  if (device === 'cuda') {
    throw new StylecastError(
      'DEVICE_UNAVAILABLE',
      `--device cuda: the CUDA execution provider could not be loaded (${reasons}). ` +
        'On a machine with an NVIDIA GPU run `npm run setup:cuda`, or use --device cpu.',
    );
  }
  throw new StylecastError('DEVICE_UNAVAILABLE', `no execution provider could be loaded (${reasons})`);
}
