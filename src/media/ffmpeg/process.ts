import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { atExit } from '../../core/at-exit.js';
import { StylecastError } from '../../core/errors.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const STDERR_LINES_KEPT = 30;

export function ffmpegBinary(): string {
  return process.env.STYLECAST_FFMPEG ?? 'ffmpeg';
}

export function ffprobeBinary(): string {
  return process.env.STYLECAST_FFPROBE ?? 'ffprobe';
}

/**
 * However this process ends (a signal handled by the CLI, an uncaught error,
 * process.exit), no child outlives it: a probe of a huge file must not go on
 * growing, re-parented to init, after its parent is gone.
 */
function killOnExit(child: ChildProcess): void {
  const forget = atExit(() => child.kill('SIGKILL'));
  child.once('close', forget);
  child.once('error', forget);
}

/**
 * One supervised ffmpeg/ffprobe child. Keeps the tail of stderr for error
 * messages, separates "failed to start" from "exited with an error", and
 * kills the child on close() (SIGTERM, then SIGKILL after a grace period).
 */
export class FfmpegProcess {
  readonly exited: Promise<ExitStatus>;
  readonly pid: number | undefined;
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private partialLine = '';
  private exitStatus: ExitStatus | undefined;
  private spawnError: Error | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Stopped by its timeoutMs. */
  timedOut = false;

  constructor(
    readonly binary: string,
    readonly args: readonly string[],
    options: { stdin?: boolean; stdout?: boolean; timeoutMs?: number; memoryLimitMb?: number } = {},
  ) {
    const stdio: ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe'] = [options.stdin ? 'pipe' : 'ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'];
    // A memory cap (address space, through the shell's ulimit; POSIX only) for children reading untrusted input.
    this.child = options.memoryLimitMb !== undefined && process.platform !== 'win32'
      ? spawn('/bin/sh', ['-c', `ulimit -v ${Math.round(options.memoryLimitMb * 1024)} && exec "$0" "$@"`, binary, ...args], { stdio })
      : spawn(binary, args, { stdio });
    this.pid = this.child.pid;
    killOnExit(this.child);
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => this.collectStderr(chunk));
    // A reader or writer going away must never crash the process (EPIPE).
    this.child.stdin?.on('error', () => undefined);
    this.child.stdout?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
        this.exitStatus ??= { code: null, signal: null };
        resolve(this.exitStatus);
      });
      this.child.once('close', (code, signal) => {
        if (this.killTimer) clearTimeout(this.killTimer);
        this.exitStatus ??= { code, signal };
        resolve(this.exitStatus);
      });
    });
    if (options.timeoutMs !== undefined) {
      // A child given a deadline (a probe of untrusted input) is stopped when it passes.
      const deadline = setTimeout(() => {
        this.timedOut = true;
        void this.close(500);
      }, options.timeoutMs);
      deadline.unref();
      void this.exited.then(() => clearTimeout(deadline));
    }
  }

  get stdin(): Writable {
    if (!this.child.stdin) throw new Error('ffmpeg started without stdin');
    return this.child.stdin;
  }

  get stdout(): Readable {
    if (!this.child.stdout) throw new Error('ffmpeg started without stdout');
    return this.child.stdout;
  }

  get failedToStart(): boolean {
    return this.spawnError !== undefined;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** The most telling stderr line (ffmpeg prints its reason last). */
  /** The last lines the child wrote to stderr, joined. */
  errorTail(): string {
    return [...this.stderrTail, this.partialLine].map((l) => l.trim()).filter(Boolean).join('\n');
  }

  lastError(): string {
    const lines = [...this.stderrTail, this.partialLine].map((l) => l.trim()).filter(Boolean);
    return lines.at(-1) ?? '';
  }

  /** Rejects with a clear error when the child could not start or failed. */
  async waitForSuccess(what: string): Promise<void> {
    const status = await this.exited;
    if (this.spawnError) throw this.startError();
    if (status.code !== 0) {
      const reason = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
      const detail = this.lastError();
      throw new StylecastError('FFMPEG_FAILED', `${what} failed (${reason})${detail ? `: ${detail}` : ''}`);
    }
  }

  startError(): StylecastError {
    const error = this.spawnError as NodeJS.ErrnoException | undefined;
    if (error?.code === 'ENOENT') {
      return new StylecastError('FFMPEG_MISSING', `${this.binary} not found: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg)`);
    }
    return new StylecastError('FFMPEG_FAILED', `could not start ${this.binary}: ${error?.message ?? 'unknown error'}`);
  }

  /** Stops the child if it still runs. Safe to call many times. */
  close(graceMs = 2000): Promise<ExitStatus> {
    if (!this.closed) {
      this.closed = true;
      if (this.running) {
        this.child.stdin?.destroy();
        this.child.stdout?.destroy();
        this.child.kill('SIGTERM');
        this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
        this.killTimer.unref();
      }
    }
    return this.exited;
  }

  private collectStderr(chunk: string): void {
    const text = this.partialLine + chunk;
    const lines = text.split(/\r?\n|\r/);
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
    }
  }
}
