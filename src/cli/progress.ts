import type { TranscodeProgress } from '../pipeline/transcode.js';

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

export function progressLine(p: TranscodeProgress): string {
  const total = p.totalFrames ? `/${p.totalFrames}` : '';
  const percent = p.totalFrames ? ` (${Math.min(100, (100 * p.frames) / p.totalFrames).toFixed(0)}%)` : '';
  const flicker = p.flicker === null ? '' : ` flicker ${p.flicker.toFixed(2)}`;
  return `frames ${p.frames}${total}${percent} ${p.fps.toFixed(1)} fps ETA ${formatDuration(p.etaSeconds)} model ${p.inferenceMs.toFixed(0)} ms${flicker}`;
}

export function progressBar(p: TranscodeProgress, width = 24): string {
  const fraction = p.totalFrames ? Math.min(1, p.frames / p.totalFrames) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progressLine(p)}`;
}

/** A bar redrawn in place on a TTY; plain lines at most every `intervalMs` otherwise. */
export class ProgressReporter {
  private lastPrint = 0;
  private drewBar = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean,
    private readonly intervalMs = stream.isTTY ? 100 : 2000,
  ) {}

  update(p: TranscodeProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    const last = p.totalFrames !== null && p.frames >= p.totalFrames;
    if (now - this.lastPrint < this.intervalMs && !last) return;
    this.lastPrint = now;
    if (this.stream.isTTY) {
      const columns = this.stream.columns || 100;
      this.stream.write(`\r${progressBar(p).slice(0, columns - 1).padEnd(columns - 1)}`);
      this.drewBar = true;
    } else {
      this.stream.write(`${progressLine(p)}\n`);
    }
  }

  /** Moves past the bar so the next message starts on a clean line. */
  end(): void {
    if (this.drewBar) this.stream.write('\n');
    this.drewBar = false;
  }
}
