import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** What web/app.js exposes as window.stylecast (for the tests that drive the page). */
declare global {
  interface Window {
    stylecast: {
      ready: Promise<void>;
      state: {
        frames: { input: number; output: number };
        errors: string[];
        stats: any;
        style: string | null;
        broadcastStyle: string | null;
        cameraStyle: string | null;
        reconnects: number;
        painting: { a: string | null; b: string | null; blend: number; strength: number };
      };
      start(mode: string): Promise<void>;
      stop(): void;
      setStyle(id: string): void;
      meanColor(which: 'input' | 'output'): number[] | null;
      samples(): { input: number[] | null; output: number[] | null };
      decodedFrames(): Promise<number>;
      uploadPainting(file: Blob, slot?: 'a' | 'b'): Promise<string>;
      pickGalleryPainting(id: string, slot?: 'a' | 'b'): Promise<string>;
      setMix(change: { strength?: number; blend?: number }): void;
    };
  }
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream=fps=30',
  // Several viewer pages at once: keep background tabs rendering (frame callbacks).
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows',
];

/** A y4m clip for Chromium's fake camera: a known picture (static colour bars). */
export function makeCameraClip(dir: string): string {
  const path = join(dir, 'camera.y4m');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'smptebars=size=320x180:rate=30', '-t', '1', '-pix_fmt', 'yuv420p', path]);
  return path;
}

/** Debian's Chromium, headless, with a fresh profile that is removed on close. */
export async function launchChromium(cameraFile?: string, extraArgs: readonly string[] = []): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'stylecast-chromium-'));
  const args = [...FLAGS, ...(cameraFile ? [`--use-file-for-fake-video-capture=${cameraFile}`] : []), ...extraArgs];
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
