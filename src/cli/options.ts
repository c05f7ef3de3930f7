import { StylecastError } from '../core/errors.js';

/** A flag's whole-number value, or a one-line usage error naming the flag. */
export function parseWholeNumber(text: string, flag: string, max = Infinity): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new StylecastError('USAGE', `${flag} must be a whole number${max < Infinity ? ` up to ${max}` : ''}, got "${text}"`);
  return Number(text);
}

/** Inference lanes (engine.planLanes): 0 is auto. */
export const MAX_LANES = 16;
