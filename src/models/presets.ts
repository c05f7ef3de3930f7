import { providerInstalled } from './ort/install.js';
import type { Device } from './providers.js';
import type { Preset } from './registry.js';

/** `auto`: fast on the CPU, quality where CUDA runs. */
export function resolvePreset(preset: Preset | 'auto', device: Device): Preset {
  if (preset !== 'auto') return preset;
  if (device === 'cuda' || device === 'webgpu') return 'quality';
  if (device === 'auto' && (providerInstalled('cuda') || providerInstalled('webgpu'))) return 'quality';
  return 'fast';
}
