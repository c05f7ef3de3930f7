// Any painting as the style (contract 2), end to end: the CLI's --style-image,
// and the live page uploading paintings and moving the sliders in real Chromium.
// The fixture tiny-colour is AdaIN on the pixels themselves (colour-statistics
// transfer), so where the colours must go is known exactly.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../dist/core/log.js';
import { loadGallery } from '../../dist/models/gallery.js';
import { StylecastServer } from '../../dist/transport/server.js';
import { launchChromium } from '../support/browser.js';
import { FIXTURES, ROOT, decodeRgb, makeClip, runCli, tempDir, waitFor } from '../support/helpers.js';
import { connect, startTestServer } from '../support/live-client.js';

type Rgb = [number, number, number];

const log = createLogger('error', () => undefined);
let dir: { path: string; cleanup: () => Promise<void> };
let blue: string;
let red: string;
let server: StylecastServer | null = null;
let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;

/** A noisy single-colour painting the server has never seen. */
function painting(name: string, colour: string): string {
  const path = join(dir.path, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${colour}:size=96x64,noise=alls=25:allf=u`, '-frames:v', '1', path]);
  return path;
}

function meanOf(rgb: Uint8Array): Rgb {
  const sum: Rgb = [0, 0, 0];
  for (let i = 0; i < rgb.length; i += 3) for (let c = 0; c < 3; c++) sum[c] += rgb[i + c]!;
  return sum.map((v) => v / (rgb.length / 3)) as Rgb;
}

const distance = (a: readonly number[], b: readonly number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

beforeAll(async () => {
  dir = await tempDir('stylecast-painting-');
  blue = painting('blue.png', '0x2848d8');
  red = painting('red.png', '0xd83020');
});
afterEach(async () => {
  await browser?.close();
  browser = null;
  await server?.close();
  server = null;
});
afterAll(() => dir.cleanup());

describe('stylecast stylize --style-image (CLI)', () => {
  const models = ['--models-dir', FIXTURES];

  it('paints a clip with a painting it has never seen; strength 0 leaves the colours; two paintings blend', async () => {
    const clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 96, height: 64, seconds: 0.5, audio: false });
    const source = meanOf(await decodeRgb(clip, 96, 64));
    const paintingMean = meanOf(await decodeRgb(blue, 96, 64));
    const run = async (name: string, extra: string[]) => {
      const out = join(dir.path, name);
      const r = await runCli(['stylize', clip, '-o', out, ...models, '--style', 'tiny-colour', '--preset', 'quality', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { mean: meanOf(await decodeRgb(out, 96, 64)), stderr: r.stderr };
    };
    const full = await run('blue.mp4', ['--style-image', blue]);
    expect(full.stderr).toMatch(/style tiny-colour: blue\.png, strength 1 \(quality\)/);
    // Colour-statistics transfer: the output's mean colour is the painting's (within codec rounding).
    expect(distance(full.mean, paintingMean)).toBeLessThan(12);
    expect(distance(source, paintingMean)).toBeGreaterThan(60);
    const none = await run('none.mp4', ['--style-image', blue, '--strength', '0']);
    expect(distance(none.mean, source)).toBeLessThan(6);
    const half = await run('half.mp4', ['--style-image', blue, '--style-image', red, '--blend', '0.5']);
    const redMean = meanOf(await decodeRgb(red, 96, 64));
    const midpoint = paintingMean.map((v, i) => (v + redMean[i]!) / 2);
    expect(distance(half.mean, midpoint)).toBeLessThan(12);
  });

  it('refuses what cannot work, with one line each', async () => {
    const clip = await makeClip(join(dir.path, 'short.mp4'), { width: 64, height: 48, seconds: 0.2, audio: false });
    const out = join(dir.path, 'x.mp4');
    const cases: Array<[string[], RegExp]> = [
      [['--style', 'tiny', '--style-image', blue], /style tiny has its painting built in; a painting of your own needs an any-painting model \(.*tiny-colour/],
      [['--style', 'tiny-colour'], /style tiny-colour paints any painting: give one with --style-image/],
      [['--style', 'tiny-colour', '--style-image', blue, '--strength', '2'], /--strength must be a number from 0 to 1, got "2"/],
      [['--style', 'tiny-colour', '--style-image', blue, '--blend', '0.3'], /--blend mixes two paintings: give --style-image twice/],
      [['--style', 'tiny-colour', '--style-image', join(ROOT, 'README.md')], /README\.md is not an image ffmpeg can read/],
      [['--style', 'tiny-colour', '--style-image', join(dir.path, 'missing.png')], /input file not found: .*missing\.png/],
    ];
    for (const [extra, message] of cases) {
      const r = await runCli(['stylize', clip, '-o', out, ...models, ...extra]);
      expect(r.code, extra.join(' ')).not.toBe(0);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe('live: paintings uploaded from the page (real Chromium)', () => {
  async function startServer(): Promise<StylecastServer> {
    server = await startTestServer({ log });
    return server;
  }

  async function outputNear(page: Page, target: readonly number[], within: number): Promise<void> {
    await waitFor(async () => {
      const mean = await page.evaluate(() => window.stylecast.meanColor('output'));
      return mean !== null && distance(mean, target) < within;
    }, 15_000);
  }

  it('uploads a painting, moves both sliders: the stream follows within a second each time and never stops', async () => {
    await startServer();
    browser = await launchChromium();
    const page = await browser.context.newPage();
    await page.goto(`${server!.url}/`);
    await page.evaluate(() => window.stylecast.ready);
    await page.evaluate(() => window.stylecast.start('view'));
    await waitFor(async () => (await page.evaluate(() => window.stylecast.state.frames.output)) > 10, 20_000);
    expect(await page.isVisible('#painting')).toBe(true);
    const decodedAtStart = await page.evaluate(() => window.stylecast.decodedFrames());
    const blueMean = meanOf(await decodeRgb(blue, 96, 64));
    const redMean = meanOf(await decodeRgb(red, 96, 64));
    const before = (await page.evaluate(() => window.stylecast.meanColor('output')))!;
    expect(distance(before, blueMean)).toBeGreaterThan(40);

    // The file input, as a user would: the server reads it, the broadcast switches to the any-painting model.
    const uploaded = Date.now();
    await page.setInputFiles('#painting-a', blue);
    await waitFor(() => page.evaluate(() => window.stylecast.state.style === 'tiny-colour'), 10_000);
    await outputNear(page, blueMean, 25);
    const tookMs = Date.now() - uploaded;

    await page.evaluate(() => window.stylecast.setMix({ strength: 0 })); // the strength slider to 0: smptebars again
    await waitFor(async () => distance((await page.evaluate(() => window.stylecast.meanColor('output')))!, blueMean) > 40, 10_000);

    await page.setInputFiles('#painting-b', red);
    await waitFor(() => page.evaluate(() => window.stylecast.state.painting.b !== null), 10_000);
    await page.evaluate(() => window.stylecast.setMix({ strength: 1, blend: 1 })); // the blend slider to B
    await outputNear(page, redMean, 25);
    await page.evaluate(() => window.stylecast.setMix({ blend: 0 })); // and back to A
    await outputNear(page, blueMean, 25);

    // One peer connection throughout, frames decoded all along, nothing reported as an error.
    expect(server!.counts().peers).toBe(1);
    expect(await page.evaluate(() => window.stylecast.decodedFrames())).toBeGreaterThan(decodedAtStart + 30);
    expect(await page.evaluate(() => window.stylecast.state.errors)).toEqual([]);
    console.log(`painting upload to a changed stream: ${tookMs} ms`);
  });

  it('picks a gallery painting with one click and blends it with an uploaded one: the stream follows both', async () => {
    // A gallery of one green painting (the shipped gallery's format), beside an upload of red.
    const galleryDir = join(dir.path, 'gallery');
    execFileSync('mkdir', ['-p', galleryDir]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x30c040:size=96x64,noise=alls=25:allf=u', '-frames:v', '1', join(galleryDir, 'green.jpg')]);
    await writeFile(join(galleryDir, 'gallery.json'), JSON.stringify({ paintings: [{ id: 'green', file: 'green.jpg', title: 'Green', artist: 'ffmpeg', year: '2026', licence: 'test fixture' }] }));
    server = await startTestServer({ log, gallery: await loadGallery(galleryDir) });
    browser = await launchChromium();
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await page.evaluate(() => window.stylecast.ready);
    await page.evaluate(() => window.stylecast.start('view'));
    await waitFor(async () => (await page.evaluate(() => window.stylecast.state.frames.output)) > 10, 20_000);
    const greenMean = meanOf(await decodeRgb(join(galleryDir, 'green.jpg'), 96, 64));
    const redMean = meanOf(await decodeRgb(red, 96, 64));

    // The thumbnail is served and shown; one click paints with it.
    await page.waitForSelector('#gallery button[data-id="green"] img');
    expect(await page.evaluate(() => (document.querySelector('#gallery img') as HTMLImageElement).naturalWidth)).toBe(96);
    await page.click('#gallery button[data-id="green"]');
    await waitFor(() => page.evaluate(() => window.stylecast.state.painting.a === 'g-green'), 10_000);
    await outputNear(page, greenMean, 25);
    expect(await page.isVisible('#gallery button.chosen[data-id="green"]')).toBe(true);

    await page.setInputFiles('#painting-b', red);
    await waitFor(() => page.evaluate(() => window.stylecast.state.painting.b !== null), 10_000);
    await page.evaluate(() => window.stylecast.setMix({ blend: 1 }));
    await outputNear(page, redMean, 25);
    await page.evaluate(() => window.stylecast.setMix({ blend: 0 }));
    await outputNear(page, greenMean, 25);
    expect(await page.evaluate(() => window.stylecast.state.errors)).toEqual([]);

    // Only the gallery's own ids exist: anything else is 404, never a path.
    for (const bad of ['nope', '..%2Fgallery', 'green.jpg']) {
      expect((await fetch(`${server.url}/api/gallery/${bad}`, { method: 'POST' })).status).toBe(404);
    }
    expect((await fetch(`${server.url}/gallery/nope.jpg`)).status).toBe(404);
  });

  it('a bad painting gets a clear answer and the stream goes on untouched', async () => {
    await startServer();
    const url = `${server!.url}/api/painting`;
    const post = (body: Uint8Array | string, type = 'image/png') => fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body: typeof body === 'string' ? body : Buffer.from(body) });
    const notImage = await post('hello, not a picture');
    expect(notImage.status).toBe(400);
    expect(await notImage.text()).toMatch(/not a JPEG, PNG, WebP or BMP image/);
    const fakePng = new Uint8Array(2048);
    fakePng.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const broken = await post(fakePng);
    expect(broken.status).toBe(400);
    expect(await broken.text()).toMatch(/the painting is not an image ffmpeg can read/);
    const tooBig = await post(new Uint8Array(11 * 1024 * 1024));
    expect(tooBig.status).toBe(413);
    expect((await post('x', 'text/plain')).status).toBe(400);
    const good = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: new Uint8Array(await readFile(blue)) });
    expect(good.status).toBe(201);
    const { id } = (await good.json()) as { id: string };
    expect(id).toMatch(/^p-/);
    // An unknown painting id over /ws is NOT_FOUND, a bad mix BAD_REQUEST, a good one switches the broadcast.
    const { ws, next } = await connect(`${server!.url.replace('http', 'ws')}/ws`);
    try {
      expect(await next('welcome')).toMatchObject({ paintings: { model: 'tiny-colour', maxBytes: 10 * 1024 * 1024 }, painting: null });
      ws.send(JSON.stringify({ type: 'paint', a: 'p-nope', b: null, blend: 0, strength: 1 }));
      expect(await next('error')).toMatchObject({ code: 'NOT_FOUND' });
      ws.send(JSON.stringify({ type: 'paint', a: id, b: null, blend: 0, strength: 2 }));
      expect(await next('error')).toMatchObject({ code: 'BAD_REQUEST' });
      ws.send(JSON.stringify({ type: 'paint', a: id, b: null, blend: 0, strength: 0.5 }));
      expect(await next('style')).toMatchObject({ id: 'tiny-colour', target: 'broadcast', painting: { a: id, strength: 0.5 } });
      const stats = await (await fetch(`${server!.url}/api/stats`)).json() as { broadcast: { framesOut: number; failed: number } };
      await waitFor(async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as typeof stats).broadcast.framesOut > stats.broadcast.framesOut + 10, 10_000);
      expect(stats.broadcast.failed).toBe(0);
    } finally {
      ws.close();
    }
  });
});
