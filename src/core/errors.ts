/**
 * Every failure a user can cause or meet has a code and a one-line message.
 * The CLI prints `error: <message>` and exits with `exitCode`; stack traces are
 * for --debug only.
 */
export type ErrorCode =
  | 'USAGE'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_INVALID'
  | 'NO_VIDEO_STREAM'
  | 'OUTPUT_INVALID'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'DEVICE_UNAVAILABLE'
  | 'FFMPEG_MISSING'
  | 'FFMPEG_FAILED'
  | 'INFERENCE_FAILED'
  | 'ABORTED'
  | 'CLOSED'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'BUSY'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  | 'TOO_LARGE'
  | 'TIMEOUT';

const EXIT_CODES: Partial<Record<ErrorCode, number>> = { USAGE: 2, ABORTED: 130 };

export class StylecastError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StylecastError';
    this.code = code;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code] ?? 1;
  }

  static aborted(reason = 'interrupted'): StylecastError {
    return new StylecastError('ABORTED', reason);
  }

  static closed(what: string): StylecastError {
    return new StylecastError('CLOSED', `${what} is closed`);
  }
}

export function isStylecastError(error: unknown): error is StylecastError {
  return error instanceof StylecastError;
}

/** The first line of a message without ANSI colour escapes (native libraries, ONNX Runtime, colour theirs). */
export function firstPlainLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\x1b\[[0-9;]*m/g, '').trim();
}

/** A one-line description of any thrown value, for logs and the CLI. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return firstPlainLine(error.message) || error.name;
  return String(error);
}

/** Turns an AbortSignal's reason into our error type. */
export function abortError(signal: AbortSignal): StylecastError {
  const reason: unknown = signal.reason;
  if (reason instanceof StylecastError) return reason;
  return StylecastError.aborted(reason instanceof Error ? reason.message : 'interrupted');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
