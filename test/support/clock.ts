/**
 * Glass-to-glass lag on one clock, for sources that are not a browser page:
 * frames carry the time (Date.now(), 20 bits of ms) as black/white blocks on
 * their top rows, twice (the second row inverted, so a style that shifts
 * colours cannot flip a bit), as src/bench/glass-page.ts draws them in a page.
 * A sender writes such frames into ffmpeg (to SRT, UDP, ...); a reader decodes
 * a stream with ffmpeg and reads the time back from each frame.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const BITS = 20;
const MASK = (1 << BITS) - 1;

/** Draws the clock for `nowMs` into an RGB24 frame; the rest is a slow colour wash with a moving bar (something to encode). */
export function drawClock(frame: Buffer, width: number, height: number, nowMs: number, tick: number): void {
  const block = Math.floor(width / BITS);
  const code = nowMs & MASK;
  const hue = (tick * 3) % 255;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      let value: [number, number, number];
      if (y < 2 * block && x < BITS * block) {
        const bit = (code >> Math.floor(x / block)) & 1;
        const white = y < block ? bit === 1 : bit === 0;
        value = white ? [235, 235, 235] : [16, 16, 16];
      } else {
        const bar = Math.abs(x - ((tick * 6) % width)) < width / 12;
        value = bar ? [230, 230, 230] : [90 + hue / 3, 110, 160 - hue / 4];
      }
      frame[i] = value[0];
      frame[i + 1] = value[1];
      frame[i + 2] = value[2];
    }
  }
}

/** The time a frame carries (20 bits of ms), read as the mean of each block's inner half, row against inverted row. */
export function readClock(frame: Uint8Array, width: number): number {
  const block = Math.floor(width / BITS);
  const mean = (bx: number, by: number): number => {
    let sum = 0;
    let count = 0;
    for (let y = by * block + block / 4; y < (by + 1) * block - block / 4; y++) {
      for (let x = bx * block + block / 4; x < (bx + 1) * block - block / 4; x++) {
        const i = (Math.floor(y) * width + Math.floor(x)) * 3;
        sum += frame[i]! + frame[i + 1]! + frame[i + 2]!;
        count++;
      }
    }
    return sum / count;
  };
  let code = 0;
  for (let b = 0; b < BITS; b++) if (mean(b, 0) > mean(b, 1)) code |= 1 << b;
  return code;
}

/** How long ago (ms) a frame carrying `code` was drawn, on the 20-bit clock. */
export function lagOf(code: number, nowMs = Date.now()): number {
  return ((nowMs & MASK) - code + MASK + 1) & MASK;
}

/** Writes clock frames at `fps` into ffmpeg, which sends them as H.264 in MPEG-TS to `url`. */
export function startClockSender(url: string, width: number, height: number, fps: number): { child: ChildProcess; close: () => Promise<void> } {
  const child = spawn('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-pix_fmt', 'yuv420p', '-f', 'mpegts', url], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin!.on('error', () => undefined);
  const frame = Buffer.alloc(width * height * 3);
  let tick = 0;
  const timer = setInterval(() => {
    if (child.stdin!.writableLength > frame.length * 2) return; // ffmpeg behind: skip, as a camera would
    drawClock(frame, width, height, Date.now(), tick++);
    child.stdin!.write(Buffer.from(frame));
  }, 1000 / fps);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    close: async () => {
      clearInterval(timer);
      child.stdin!.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** Decodes `url` with ffmpeg at the lowest latency it offers and reports each frame's lag. */
export function startClockReader(url: string, width: number, height: number, onLag: (ms: number) => void): { close: () => Promise<void> } {
  const child = spawn('ffmpeg', ['-v', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-i', url,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const size = width * height * 3;
  let pending = Buffer.alloc(0);
  child.stdout!.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= size) {
      onLag(lagOf(readClock(pending.subarray(0, size), width)));
      pending = pending.subarray(size);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    close: async () => {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(kill);
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
