import { describe, expect, it } from 'vitest';
import { LiveEncoder } from '../../dist/transport/live-encoder.js';

/** Raw RGBA in, nothing out: a real ffmpeg that takes frames of one size. */
const toNull = (width: number, height: number) => ['-nostdin', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-i', 'pipe:0', '-f', 'null', '-'];

describe('LiveEncoder (real ffmpeg)', () => {
  it('starts at the first frame, restarts on a new size, and an encoder it stopped is no news', async () => {
    const starts: number[] = [];
    const exits: string[] = [];
    const encoder = new LiveEncoder({ argsFor: toNull, onStart: (p) => starts.push(p.pid ?? -1), onExit: (_p, status) => exits.push(String(status.code)) });
    expect(encoder.running).toBe(false);
    for (let i = 0; i < 5; i++) expect(encoder.write(32, 16, new Uint8Array(32 * 16 * 4))).toBe(true);
    expect(encoder.running).toBe(true);
    encoder.write(16, 16, new Uint8Array(16 * 16 * 4));
    expect(starts).toHaveLength(2);
    await encoder.close();
    expect(encoder.running).toBe(false);
    expect(exits).toEqual([]);
  });

  it('tells onExit once about an encoder that ends by itself, and starts a new one at the next frame', async () => {
    let exited!: () => void;
    const ended = new Promise<void>((resolve) => (exited = resolve));
    const messages: string[] = [];
    // An output ffmpeg cannot open: it exits at once with an error.
    const encoder = new LiveEncoder({
      argsFor: (w, h) => [...toNull(w, h).slice(0, -3), '-f', 'mp4', '/nonexistent-folder/out.mp4'],
      onExit: (p) => {
        messages.push(p.lastError());
        exited();
      },
    });
    encoder.write(8, 8, new Uint8Array(8 * 8 * 4));
    await ended;
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/nonexistent-folder|No such file/);
    expect(encoder.running).toBe(false);
    encoder.write(8, 8, new Uint8Array(8 * 8 * 4));
    expect(encoder.running).toBe(true);
    await encoder.close();
  });
});
