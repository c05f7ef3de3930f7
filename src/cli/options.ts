import { availableParallelism } from 'node:os';
import { StylecastError } from '../core/errors.js';

/** A flag's whole-number value, or a one-line usage error naming the flag. */
export function parseWholeNumber(text: string, flag: string, max = Infinity): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new StylecastError('USAGE', `${flag} must be a whole number${max < Infinity ? ` up to ${max}` : ''}, got "${text}"`);
  return Number(text);
}

/**
 * `--threads`: a whole number, at most the machine's cores. More threads than cores only
 * slow inference down, and a typo (100000) would start that many; so it is capped, with a notice.
 */
export function parseThreads(text: string, notice: (message: string) => void, cores = availableParallelism()): number {
  const threads = parseWholeNumber(text, '--threads');
  if (threads <= cores) return threads;
  notice(`note: --threads ${threads} is more than this machine's ${cores} cores: using ${cores}`);
  return cores;
}

/** Inference lanes (engine.planLanes): 0 is auto. */
export const MAX_LANES = 16;
