import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../dist/core/log.js';
import { ModelRegistry } from '../../dist/models/registry.js';
import { StylecastServer, type ServerOptions } from '../../dist/transport/server.js';
import { launchChromium, makeCameraClip } from '../support/browser.js';
import { FIXTURES, childrenOf, runCli, startCli, tempDir, waitFor } from '../support/helpers.js';
import { connect, ffmpegChildren, openFds, startTestServer, viewerOffer } from '../support/live-client.js';
import { parseSourceSpec as parseSource } from '../../dist/pipeline/sources.js';

const logLines: string[] = [];
const log = createLogger('debug', (line) => logLines.push(line));
let dir: { path: string; cleanup: () => Promise<void> };
let camera: string;
let registry: ModelRegistry;
let server: StylecastServer | null = null;
let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;

async function startServer(overrides: Partial<ServerOptions> = {}): Promise<StylecastServer> {
  server = await startTestServer({ registry, log, ...overrides });
  return server;
}

async function openPage(path: string): Promise<Page> {
  browser ??= await launchChromium(camera);
  const page = await browser.context.newPage();
  await page.goto(`${server!.url}${path}`);
  await page.evaluate(() => window.stylecast.ready);
  return page;
}

const frames = (page: Page) => page.evaluate(() => window.stylecast.state.frames);

/** Mean absolute difference of the 32x32 input and output samples shown in the page. */
async function inputOutputDifference(page: Page): Promise<number> {
  const { input, output } = await page.evaluate(() => window.stylecast.samples());
  if (!input || !output) return 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < input.length; i += 4) for (let c = 0; c < 3; c++, n++) sum += Math.abs(input[i + c]! - output[i + c]!);
  return sum / n;
}

beforeAll(async () => {
  dir = await tempDir('stylecast-live-');
  camera = makeCameraClip(dir.path);
  registry = await ModelRegistry.load([FIXTURES]);
});
afterEach(async () => {
  await browser?.close();
  browser = null;
  await server?.close();
  server = null;
});
afterAll(() => dir.cleanup());

describe('live serving in real Chromium', () => {
  it('camera round trip: the page gets its camera back stylized on the same peer connection', async () => {
    await startServer({ source: { kind: 'browser' } });
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('camera'));
    await waitFor(async () => (await frames(page)).output > 30, 20_000);
    // Not the input: the picture that comes back differs from the camera picture.
    expect(await inputOutputDifference(page)).toBeGreaterThan(20);
    const stats = await waitFor(async () => page.evaluate(() => window.stylecast.state.stats?.camera?.framesOut > 10 && window.stylecast.state.stats.camera));
    expect(stats.provider).toBe('cpu');
    expect(stats.latencyP50Ms).toBeGreaterThan(0);
    expect(server!.counts()).toMatchObject({ cameras: 1, peers: 1 });
    await page.evaluate(() => window.stylecast.stop());
    await waitFor(async () => server!.counts().cameras === 0);
  });

  it('a server-side source is stylized once and fanned out to 3 viewers', async () => {
    await startServer();
    const pages: Page[] = [];
    for (const path of ['/', '/', '/obs']) {
      const page = await openPage(path); // opened in front: Chromium defers media in background tabs
      if (path === '/') await page.evaluate(() => window.stylecast.start('view')); // /obs starts by itself
      await waitFor(async () => (await frames(page)).output > 0, 20_000);
      pages.push(page);
    }
    // Frames decoded by each viewer's own peer connection.
    for (const page of pages) {
      const start = await page.evaluate(() => window.stylecast.decodedFrames());
      await waitFor(async () => (await page.evaluate(() => window.stylecast.decodedFrames())) > start + 30, 20_000);
    }
    const stats = (await pages[0]!.evaluate(() => window.stylecast.state.stats)).broadcast;
    expect(stats.webrtcViewers).toBe(3);
    expect(stats.source).toBe('lavfi:smptebars=size=320x180:rate=30');
    expect(stats.framesOut).toBeGreaterThan(30); // delivered frames, not a speed (speed is for bench:live)
    // The main page shows the input preview beside the output: they differ.
    await pages[0]!.bringToFront();
    await waitFor(async () => (await frames(pages[0]!)).input > 10);
    expect(await inputOutputDifference(pages[0]!)).toBeGreaterThan(20);
  });

  it('WHIP in, WHEP out: a publisher becomes the source, a WHEP player receives it, DELETE ends both', async () => {
    await startServer();
    const publisher = await openPage('/');
    const whip = await publisher.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const pc = new RTCPeerConnection({ iceServers: [] });
      pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(null); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(null); });
      const res = await fetch('/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
      const answer = await res.text();
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      (window as any).whipPc = pc;
      return { status: res.status, location: res.headers.get('Location'), type: res.headers.get('Content-Type') };
    });
    expect(whip.status).toBe(201);
    expect(whip.location).toMatch(/^\/whip\/[\w-]+$/);
    expect(whip.type).toBe('application/sdp');
    const player = await openPage('/');
    const whep = await player.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const video = document.getElementById('output') as HTMLVideoElement;
      pc.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); };
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(null); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(null); });
      const res = await fetch('/whep', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      return { status: res.status, location: res.headers.get('Location') };
    });
    expect(whep.status).toBe(201);
    await waitFor(async () => (await frames(player)).output > 30, 20_000);
    const stats = await waitFor(async () => player.evaluate(() => window.stylecast.state.stats?.broadcast?.source === 'whip' && window.stylecast.state.stats.broadcast));
    expect(stats.framesIn).toBeGreaterThan(0);
    // A second publisher is refused while one is live.
    const second = await fetch(`${server!.url}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(second.status).toBe(409);
    for (const location of [whip.location!, whep.location!]) {
      const res = await fetch(`${server!.url}${location}`, { method: 'DELETE' });
      expect(res.status).toBe(200);
    }
    await waitFor(async () => server!.counts().resources === 0);
    expect((await fetch(`${server!.url}${whip.location}`, { method: 'DELETE' })).status).toBe(404);
    await waitFor(async () => player.evaluate(() => window.stylecast.state.stats?.broadcast?.source?.startsWith('lavfi')));
  });

  it('the WebSocket fallback (fMP4 into Media Source Extensions) plays at the live edge', async () => {
    await startServer();
    const page = await openPage('/obs?transport=ws');
    await waitFor(async () => (await frames(page)).output > 30, 20_000);
    const t1 = await page.evaluate(() => (document.getElementById('output') as HTMLVideoElement).currentTime);
    await page.waitForTimeout(1000);
    const video = await page.evaluate(() => {
      const v = document.getElementById('output') as HTMLVideoElement;
      const b = v.buffered;
      return { t: v.currentTime, behind: b.length ? b.end(b.length - 1) - v.currentTime : null, width: v.videoWidth };
    });
    expect(video.t).toBeGreaterThan(t1 + 0.5);
    expect(video.behind!).toBeLessThan(1.0); // it follows the live edge instead of buffering up
    expect(video.width).toBe(320);
    expect(server!.counts().fmp4Viewers).toBe(1);
  });

  it('plain HTTP GET /live.mp4 (OBS Media Source, ffmpeg) decodes at --size although the fast model runs at half', async () => {
    await startServer({ preset: 'fast', source: { kind: 'lavfi', graph: 'testsrc2=size=320x180:rate=30' } });
    const url = `${server!.url}/live.mp4`;
    const head = await fetch(url, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    const { execFile } = await import('node:child_process');
    const run = (cmd: string, args: string[]) => new Promise<Buffer>((resolve, reject) =>
      execFile(cmd, args, { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
    expect((await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', url])).toString().trim()).toBe('320,180');
    const started = performance.now();
    const raw = await run('ffmpeg', ['-v', 'error', '-i', url, '-frames:v', '20', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    log.info(`ffmpeg read 20 frames of /live.mp4 in ${Math.round(performance.now() - started)} ms`);
    expect(raw.length).toBe(20 * 320 * 180 * 3);
    const first = raw.subarray(0, 320 * 180 * 3);
    const last = raw.subarray(19 * 320 * 180 * 3);
    let differs = 0;
    for (let i = 0; i < first.length; i++) if (Math.abs(first[i]! - last[i]!) > 8) differs++;
    expect(differs).toBeGreaterThan(first.length * 0.01); // moving, not a frozen picture
    await waitFor(async () => server!.counts().fmp4Viewers === 0, 5000); // ffmpeg hung up: its viewer is gone
    // A constant declared rate with evenly spaced timestamps (players that count frames, like OBS, never wait).
    const probed = JSON.parse((await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-read_intervals', '%+#45', '-show_entries', 'stream=r_frame_rate:packet=pts_time', '-of', 'json', url])).toString()) as { streams: Array<{ r_frame_rate: string }>; packets: Array<{ pts_time: string }> };
    expect(probed.streams[0]!.r_frame_rate).toBe('30/1');
    const times = probed.packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(40);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(1 / 30, 3);
  });

  it('UI: Stop says stopped, WebSocket mode says why there is no input, a viewer URL cannot switch the broadcast', async () => {
    await startServer();
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('ws'));
    expect(await page.textContent('#input-caption')).toMatch(/not shown in WebSocket mode/);
    expect(await page.textContent('#status')).toBe('running: ws');
    await page.click('#stop');
    expect(await page.textContent('#status')).toBe('stopped');
    await page.evaluate(() => window.stylecast.start('view'));
    expect(await page.textContent('#input-caption')).toBe('Input');
    // An OBS source added with ?style= leaves everyone's stream alone and says so.
    const obsPage = await openPage('/obs?style=tiny-b');
    await waitFor(async () => (await obsPage.evaluate(() => (window.stylecast.state as any).notes.length)) > 0, 10_000);
    expect(await obsPage.evaluate(() => (window.stylecast.state as any).notes[0])).toMatch(/this stream runs "tiny", not "tiny-b": a viewer URL does not switch the broadcast/);
    expect((await (await fetch(`${server!.url}/api/styles`)).json()).style).toBe('tiny');
  });

  it('a page opened without its token, or with a wrong one, says so', async () => {
    await startServer({ token: 'sekret-123' });
    browser ??= await launchChromium(camera);
    for (const [query, message] of [['', /this server needs its token: open the URL that `stylecast serve` printed/], ['?token=nope', /the token in this page's URL is wrong/]] as const) {
      const page = await browser.context.newPage();
      await page.goto(`${server!.url}/${query}`);
      await waitFor(async () => message.test((await page.textContent('#status')) ?? ''), 10_000);
      await page.close();
    }
    const page = await browser.context.newPage();
    await page.goto(`${server!.url}/?token=sekret-123`);
    await page.evaluate(() => window.stylecast.ready);
    expect(await page.textContent('#status')).toMatch(/^connected/);
  });

  it('the page tells the truth in camera mode: the stats name the camera\'s style, Stop shows the broadcast\'s again, latency and flicker say what they measure', async () => {
    await startServer();
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('camera'));
    await waitFor(async () => (await frames(page)).output > 10, 20_000);
    await page.evaluate(() => window.stylecast.setStyle('tiny-b'));
    const styleRow = () => page.evaluate(() => [...document.querySelectorAll('#stats tr')].find((tr) => tr.firstElementChild?.textContent === 'style')?.lastElementChild?.textContent);
    await waitFor(async () => (await styleRow()) === 'tiny-b', 10_000);
    const labels = await page.evaluate(() => [...document.querySelectorAll('#stats tr')].map((tr) => tr.firstElementChild?.textContent ?? ''));
    expect(labels.some((l) => /^server-side latency p50 \/ p95 .*glass to glass/.test(l))).toBe(true);
    expect(labels.some((l) => /^flicker \(8-bit levels/.test(l))).toBe(true);
    expect(labels.some((l) => /^dropped frames since start/.test(l))).toBe(true);
    await page.click('#stop');
    expect(await page.inputValue('#style')).toBe('tiny'); // the broadcast never left tiny
    expect((await (await fetch(`${server!.url}/api/styles`)).json()).style).toBe('tiny');
  });

  it('pages heal: after a server restart / and /obs reconnect by themselves and play again, without a reload', async () => {
    await startServer();
    const port = server!.port;
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('view'));
    const obs = await openPage('/obs');
    for (const p of [page, obs]) await waitFor(async () => (await frames(p)).output > 10, 20_000);
    expect(await obs.isVisible('#status')).toBe(false); // playing: a clean picture for OBS
    await server!.close();
    server = null;
    for (const p of [page, obs]) await waitFor(async () => /reconnecting/.test((await p.textContent('#status')) ?? ''), 10_000);
    expect(await obs.isVisible('#status')).toBe(true); // not playing: /obs says why
    const restarted = performance.now();
    await startServer({ port });
    const before = await Promise.all([page, obs].map(async (p) => (await frames(p)).output));
    await waitFor(async () => (await frames(page)).output > before[0]! + 10 && (await frames(obs)).output > before[1]! + 10, 30_000);
    console.log(`pages playing again ${Math.round(performance.now() - restarted)} ms after the server restarted`);
    expect(await page.evaluate(() => window.stylecast.state.reconnects)).toBe(1);
    expect(await page.textContent('#status')).toBe('running: view');
    await waitFor(async () => !(await obs.isVisible('#status')), 5000);
  });

  it('a server stream with nothing coming in says why; with no any-painting model the painting panel is hidden', async () => {
    const only = await tempDir('stylecast-only-tiny-');
    try {
      const { copyFile } = await import('node:fs/promises');
      for (const f of ['tiny.onnx', 'tiny.json']) await copyFile(`${FIXTURES}/${f}`, `${only.path}/${f}`);
      await startServer({ source: { kind: 'browser' }, registry: await ModelRegistry.load([only.path]) });
      const page = await openPage('/');
      expect(await page.isVisible('#painting')).toBe(false);
      await page.evaluate(() => window.stylecast.start('view'));
      await waitFor(async () => /nothing to show yet: this server takes its picture from a publisher; .*\/whip/.test((await page.textContent('#status')) ?? ''), 10_000);
    } finally {
      await only.cleanup();
    }
  });

  it('--tls: the page, /ws and the camera round trip work over https (a self-signed certificate)', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const key = `${dir.path}/key.pem`;
    const cert = `${dir.path}/cert.pem`;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=stylecast', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    await startServer({ tls: { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') } });
    expect(server!.url).toMatch(/^https:\/\//);
    browser = await launchChromium(camera, ['--ignore-certificate-errors']);
    const page = await browser.context.newPage();
    await page.goto(`${server!.url}/`);
    await page.evaluate(() => window.stylecast.ready);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    await page.evaluate(() => window.stylecast.start('camera'));
    await waitFor(async () => (await frames(page)).output > 10, 20_000);
    expect(await page.evaluate(() => window.stylecast.state.errors)).toEqual([]);
  });

  it('switches style mid-stream without reconnecting', async () => {
    await startServer();
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('view'));
    await waitFor(async () => (await frames(page)).output > 20, 20_000);
    const before = (await page.evaluate(() => window.stylecast.meanColor('output')))!;
    await page.evaluate(() => window.stylecast.setStyle('tiny-b'));
    await waitFor(async () => page.evaluate(() => window.stylecast.state.style === 'tiny-b'));
    const framesAtSwitch = (await frames(page)).output;
    await waitFor(async () => {
      const after = await page.evaluate(() => window.stylecast.meanColor('output'));
      return after && Math.max(...after.map((v, i) => Math.abs(v - before[i]!))) > 10;
    }, 10_000);
    // Frames keep coming on the same connection after the switch.
    await waitFor(async () => (await frames(page)).output > framesAtSwitch + 10, 10_000);
    expect(server!.counts().peers).toBe(1);
    expect(await page.evaluate(() => window.stylecast.state.errors)).toEqual([]);
  });
});

describe('a style switch follows the new style\'s model scale', () => {
  // Preset fast: tiny runs its fast variant at half size (160x90 of 320x180), tiny-colour at 0.375 (120x68).
  it('the broadcast decodes at the new model size and keeps streaming, both ways', async () => {
    await startServer({ preset: 'fast' });
    const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { broadcast: { modelSize: string; framesOut: number; failed: number } }).broadcast;
    expect((await stats()).modelSize).toBe('160x90');
    const c = await connect(`${server!.url.replace('http', 'ws')}/ws`);
    try {
      await c.next('welcome');
      for (const [style, size] of [['tiny-colour', '120x68'], ['tiny', '160x90']] as const) {
        c.ws.send(JSON.stringify({ type: 'style', id: style }));
        expect(await c.next('style')).toMatchObject({ id: style, target: 'broadcast' });
        expect((await stats()).modelSize).toBe(size);
        const out = (await stats()).framesOut;
        await waitFor(async () => (await stats()).framesOut > out + 15, 15_000);
      }
      expect((await stats()).failed).toBe(0);
    } finally {
      c.ws.close();
    }
  });

  it('a stroke scale from the page re-runs the broadcast at the matching working size; a bad one is refused', async () => {
    await startServer({ preset: 'fast' });
    const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { broadcast: { modelSize: string; framesOut: number; failed: number; keepColour: number } }).broadcast;
    const c = await connect(`${server!.url.replace('http', 'ws')}/ws`);
    try {
      expect((await c.next('welcome')).strokeScale).toBe(1);
      c.ws.send(JSON.stringify({ type: 'strokes', scale: 2 }));
      expect(await c.next('style')).toMatchObject({ id: 'tiny', target: 'broadcast', strokeScale: 2 });
      // tiny has no working size: the output's short side (180) is its own, so strokes 2x = 90 px, and its fast half scale on top.
      expect((await stats()).modelSize).toBe('80x46');
      const out = (await stats()).framesOut;
      await waitFor(async () => (await stats()).framesOut > out + 10, 15_000);
      c.ws.send(JSON.stringify({ type: 'strokes', scale: 9 }));
      expect((await c.next('error')).message).toMatch(/strokes.scale must be a number from 0.25 to 4/);
      // The colour kept changes with no model reload; a bad value is refused.
      c.ws.send(JSON.stringify({ type: 'colour', keep: 1 }));
      expect(await c.next('colour')).toMatchObject({ type: 'colour', keep: 1, target: 'broadcast' });
      expect((await stats()).keepColour).toBe(1);
      c.ws.send(JSON.stringify({ type: 'colour', keep: 1.5 }));
      expect((await c.next('error')).message).toMatch(/colour.keep must be a number from 0 to 1/);
      // A style switch keeps the stroke scale.
      c.ws.send(JSON.stringify({ type: 'style', id: 'tiny-colour' }));
      expect(await c.next('style')).toMatchObject({ id: 'tiny-colour', strokeScale: 2 });
      expect((await stats()).failed).toBe(0);
    } finally {
      c.ws.close();
    }
  });

  it('a camera session scales its frames to the new model size (real Chromium)', async () => {
    await startServer({ preset: 'fast' });
    const page = await openPage('/');
    await page.evaluate(() => window.stylecast.start('camera'));
    await waitFor(async () => (await frames(page)).output > 10, 20_000);
    const cameraSize = () => page.evaluate(() => (window.stylecast.state.stats as any)?.camera?.modelSize);
    await waitFor(async () => (await cameraSize()) === '160x90', 5000);
    await page.evaluate(() => window.stylecast.setStyle('tiny-colour'));
    await waitFor(async () => (await cameraSize()) === '120x68', 10_000);
    // The page's stroke slider: strokes twice as large, the camera's model at half its size again.
    await page.locator('#strokes').fill('2');
    await waitFor(async () => (await cameraSize()) === '60x34', 10_000);
    expect(await page.locator('#strokes-value').textContent()).toBe('2×');
    // The page's colour slider: the camera's own colour kept, the broadcast's untouched.
    await page.locator('#colour').fill('1');
    await waitFor(async () => (await page.evaluate(() => (window.stylecast.state.stats as any)?.camera?.keepColour)) === 1, 10_000);
    expect(await page.locator('#colour-value').textContent()).toBe('picture');
    expect((await page.evaluate(() => (window.stylecast.state.stats as any)?.broadcast?.keepColour))).toBe(0);
    const at = (await frames(page)).output;
    await waitFor(async () => (await frames(page)).output > at + 10, 10_000);
    expect(await page.evaluate(() => window.stylecast.state.errors)).toEqual([]);
  });
});

// ---- robustness: plain sockets against the server ---------------------------

describe('server robustness (real sockets on 127.0.0.1)', () => {
  it('answers bad messages with an error, logs one line each, and stays up', async () => {
    await startServer();
    const wsUrl = server!.url.replace('http', 'ws') + '/ws';
    const c = await connect(wsUrl);
    await c.next('welcome');
    logLines.length = 0;
    c.ws.send('{not json');
    expect(await c.next('error')).toMatchObject({ code: 'BAD_REQUEST', message: 'message is not JSON' });
    c.ws.send(JSON.stringify({ type: 'self-destruct' }));
    expect((await c.next('error')).message).toMatch(/unknown message type "self-destruct"/);
    c.ws.send(JSON.stringify({ type: 'offer', mode: 'view', sdp: 'v=0\r\nthis is not sdp' }));
    expect((await c.next('error')).code).toBe('BAD_REQUEST');
    c.ws.send(JSON.stringify({ type: 'style', id: 'no-such-style' }));
    expect((await c.next('error')).code).toBe('NOT_FOUND');
    c.ws.send(Buffer.from([1, 2, 3]));
    expect((await c.next('error')).message).toMatch(/binary/);
    expect(logLines.filter((l) => l.startsWith('warn: ws '))).toHaveLength(5);
    c.ws.send(JSON.stringify({ type: 'ping' }));
    expect(await c.next('pong')).toEqual(expect.objectContaining({ type: 'pong' }));
    // Too big: the server closes this socket, and keeps serving others.
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    c.ws.send('x'.repeat(70 * 1024));
    expect(await closed).toBe(1009);
    const d = await connect(wsUrl);
    expect((await d.next('welcome')).styles.map((s: any) => s.id)).toContain('tiny');
    // Flooding is cut off.
    const flood = new Promise<number>((r) => d.ws.once('close', (code) => r(code)));
    for (let i = 0; i < 80; i++) d.ws.send(JSON.stringify({ type: 'ping' }));
    expect(await flood).toBe(1008);
    // HTTP: bad SDP, wrong content type, unknown resource.
    const bad = await fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'garbage' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${server!.url}/whip`, { method: 'POST', body: 'v=0' })).status).toBe(400);
    expect((await fetch(`${server!.url}/whep/nope`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${server!.url}/api/styles`)).status).toBe(200);
  });

  it('a peer that vanishes mid-negotiation leaves nothing behind', async () => {
    await startServer();
    const c = await connect(server!.url.replace('http', 'ws') + '/ws');
    await c.next('welcome');
    const offer = await viewerOffer();
    c.ws.send(JSON.stringify({ type: 'offer', mode: 'view', sdp: offer.sdp }));
    c.ws.terminate();
    offer.close();
    await waitFor(async () => server!.counts().peers === 0 && server!.counts().clients === 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(server!.counts()).toMatchObject({ peers: 0, clients: 0 });
  });

  it('100 connect/negotiate/disconnect cycles leak no peers, sockets, children or memory', async () => {
    await startServer();
    const wsUrl = server!.url.replace('http', 'ws') + '/ws';
    const cycle = async (i: number) => {
      const c = await connect(wsUrl);
      await c.next('welcome');
      const offer = await viewerOffer();
      c.ws.send(JSON.stringify({ type: 'offer', mode: 'view', sdp: offer.sdp }));
      if (i % 2 === 0) await c.next('answer'); // half of them leave before the answer
      offer.close();
      c.ws.close();
      if (i % 10 === 0) {
        const v = new WebSocket(server!.url.replace('http', 'ws') + '/live.mp4');
        await new Promise((r) => v.once('open', r));
        v.close();
      }
    };
    for (let i = 0; i < 10; i++) await cycle(i);
    await waitFor(async () => server!.counts().peers === 0 && server!.counts().clients === 0, 15_000);
    await new Promise((r) => setTimeout(r, 4000)); // the idle fMP4 encoder stops after 3 s
    global.gc!();
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;
    const childrenBefore = await ffmpegChildren();
    for (let i = 0; i < 100; i++) await cycle(i);
    await waitFor(async () => server!.counts().peers === 0 && server!.counts().clients === 0, 15_000);
    await new Promise((r) => setTimeout(r, 4000));
    global.gc!();
    expect(server!.counts()).toEqual({ clients: 0, peers: 0, cameras: 0, resources: 0, fmp4Viewers: 0 });
    expect(openFds() - fdsBefore).toBeLessThanOrEqual(4);
    expect(await ffmpegChildren()).toBe(childrenBefore);
    expect((process.memoryUsage().rss - rssBefore) / 1e6).toBeLessThan(80);
    // Still serving.
    const c = await connect(wsUrl);
    expect((await c.next('welcome')).type).toBe('welcome');
    c.ws.close();
  }, 180_000);

  it('close() resolves only when every child has exited (source ffmpeg, fMP4 encoder, inference workers)', async () => {
    const before = await ffmpegChildren();
    await startServer({ source: { kind: 'lavfi', graph: 'testsrc2=size=320x180:rate=30' } });
    const viewer = new WebSocket(server!.url.replace('http', 'ws') + '/live.mp4');
    await new Promise((resolve) => viewer.once('message', resolve)); // the encoder runs
    expect(await ffmpegChildren()).toBe(before + 2); // source decoder + fMP4 encoder
    await server!.close();
    server = null;
    expect(await ffmpegChildren()).toBe(before); // at once, not eventually
  });

  it('with a token: sockets, WHIP and WHEP need it', async () => {
    await startServer({ token: 'sekret-123' });
    const wsUrl = server!.url.replace('http', 'ws') + '/ws';
    await expect(connect(wsUrl)).rejects.toThrow(/401/);
    await expect(connect(`${wsUrl}?token=wrong`)).rejects.toThrow(/401/);
    const ok = await connect(`${wsUrl}?token=sekret-123`);
    expect((await ok.next('welcome')).type).toBe('welcome');
    ok.ws.close();
    const offer = await viewerOffer();
    const denied = await fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
    expect(denied.status).toBe(401);
    const allowed = await fetch(`${server!.url}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer sekret-123' }, body: offer.sdp });
    expect(allowed.status).toBe(201);
    offer.close();
    expect((await fetch(`${server!.url}${allowed.headers.get('Location')}`, { method: 'DELETE', headers: { Authorization: 'Bearer sekret-123' } })).status).toBe(200);
    // The style list and the gallery are the server's business too.
    expect((await fetch(`${server!.url}/api/styles`)).status).toBe(401);
    expect((await fetch(`${server!.url}/api/styles?token=sekret-123`)).status).toBe(200);
  });
});

describe('network sources (ffmpeg as the sender)', () => {
  const send = async (url: string, format: string) => {
    const { spawn } = await import('node:child_process');
    return spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-f', format, url], { stdio: 'ignore' });
  };
  const framesIn = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()).broadcast.framesIn as number);

  for (const [name, source, target, format] of [
    ['SRT (listener)', 'srt://127.0.0.1:PORT?mode=listener', 'srt://127.0.0.1:PORT', 'mpegts'],
    ['RTMP (listening)', 'rtmp://127.0.0.1:PORT/live/key?listen', 'rtmp://127.0.0.1:PORT/live/key', 'flv'],
  ] as const) {
    it(`${name}: a sender's stream becomes the broadcast`, async () => {
      const { createServer } = await import('node:net');
      const port = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)); }); });
      await startServer({ source: parseSource(source.replace('PORT', String(port))) });
      await new Promise((r) => setTimeout(r, 500)); // ffmpeg is listening
      const sender = await send(target.replace('PORT', String(port)), format);
      try {
        await waitFor(async () => (await framesIn()) > 20, 20_000);
        const stats = await waitFor(async () => { const b = (await (await fetch(`${server!.url}/api/stats`)).json()).broadcast; return b.framesOut > 10 && b; }, 15_000);
        expect(stats.framesIn).toBeGreaterThan(20);
        expect(stats.source).toContain(name.startsWith('SRT') ? 'srt://' : 'rtmp://');
      } finally {
        sender.kill('SIGKILL');
      }
    }, 40_000);
  }

  it('with a token, an SRT listener takes only senders that give the token as passphrase; RTMP/UDP listeners are refused', async () => {
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)); }); });
    const token = 'sekret-token-123';
    logLines.length = 0;
    await startServer({ token, source: parseSource(`srt://127.0.0.1:${port}?mode=listener`) });
    expect(logLines.some((l) => /SRT senders must add passphrase=<the token>/.test(l))).toBe(true);
    const stats = async () => (await (await fetch(`${server!.url}/api/stats?token=${token}`)).json()).broadcast as { framesIn: number; source: string };
    expect((await stats()).source).not.toContain(token); // masked: passphrase=***
    await new Promise((r) => setTimeout(r, 500));
    const stranger = await send(`srt://127.0.0.1:${port}`, 'mpegts');
    await new Promise((r) => setTimeout(r, 4000));
    stranger.kill('SIGKILL');
    expect((await stats()).framesIn).toBe(0);
    await new Promise((r) => setTimeout(r, 1500)); // the listener is reopened after the failed handshake
    const sender = await send(`srt://127.0.0.1:${port}?passphrase=${token}`, 'mpegts');
    try {
      await waitFor(async () => (await stats()).framesIn > 20, 25_000);
    } finally {
      sender.kill('SIGKILL');
    }
    await server!.close();
    server = null;
    for (const url of [`rtmp://127.0.0.1:${port}/live/key?listen`, `udp://127.0.0.1:${port}`]) {
      await expect(startServer({ token, source: parseSource(url) })).rejects.toThrow(/takes a stream from any sender, and this server has a token/);
    }
  }, 60_000);

  for (const [name, listen, push] of [
    ['RTMP', ['-listen', '1', '-i', 'rtmp://127.0.0.1:PORT/live/key'], 'rtmp://127.0.0.1:PORT/live/key'],
    ['SRT', ['-i', 'srt://127.0.0.1:PORT?mode=listener'], 'srt://127.0.0.1:PORT'],
  ] as const) {
    it(`--push ${name}: ffmpeg as the receiver gets the stylized stream at --size; a receiver that leaves is retried, the server goes on`, async () => {
      const { createServer } = await import('node:net');
      const { spawn } = await import('node:child_process');
      const port = await new Promise<number>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)); }); });
      const receiver = spawn('ffmpeg', ['-v', 'error', ...listen.map((a) => a.replace('PORT', String(port))), '-frames:v', '30', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let bytes = 0;
      receiver.stdout.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      const received = new Promise<number | null>((resolve) => receiver.once('close', resolve));
      try {
        await new Promise((r) => setTimeout(r, 500)); // listening
        await startServer({ push: [push.replace('PORT', String(port))] });
        expect(await Promise.race([received, new Promise((r) => setTimeout(() => r('timeout'), 25_000))])).toBe(0);
        expect(bytes).toBe(30 * 320 * 180 * 3); // 30 whole frames at the server's --size
        const status = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()).pushes as Array<{ state: string; framesSent: number; url: string }>)[0]!;
        expect((await status()).framesSent).toBeGreaterThanOrEqual(30);
        if (name === 'RTMP') expect((await status()).url).toBe(`rtmp://127.0.0.1:${port}/live/***`); // the stream key is not shown
        await waitFor(async () => (await status()).state === 'retrying', 15_000);
        expect((await fetch(`${server!.url}/api/styles`)).status).toBe(200);
      } finally {
        receiver.kill('SIGKILL');
      }
    }, 60_000);
  }

  it('a refused URL is one clear log line, and the server keeps serving', async () => {
    logLines.length = 0;
    await startServer({ source: parseSource('rtsp://127.0.0.1:1/nothing-here') });
    await waitFor(async () => logLines.some((l) => /source rtsp:\/\/127\.0\.0\.1:1\/nothing-here failed: .*(refused|Connection)/i.test(l)), 15_000);
    expect((await fetch(`${server!.url}/api/styles`)).status).toBe(200);
  });
});

describe('stylecast serve (CLI)', () => {
  it('--tls-cert and --tls-key: both or neither, each a PEM file, one line when not', async () => {
    const common = ['serve', '--port', '0', '--models-dir', FIXTURES, '--style', 'tiny'];
    const alone = await runCli([...common, '--tls-cert', `${dir.path}/nothing.pem`]);
    expect([alone.code, alone.stderr.trim()]).toEqual([2, 'error: --tls-cert and --tls-key go together']);
    const notPem = await runCli([...common, '--tls-cert', `${FIXTURES}/tiny.json`, '--tls-key', `${FIXTURES}/tiny.json`]);
    expect(notPem.stderr.trim()).toMatch(/^error: --tls-cert: .*tiny\.json is not a PEM file$/);
  });

  it('refuses a non-loopback address without --token', async () => {
    const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--models-dir', FIXTURES, '--style', 'tiny']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: binding 0\.0\.0\.0 exposes the server beyond this machine: give --token$/m);
  });

  it('serves, and on SIGINT stops cleanly with no child process left', async () => {
    const { child, done } = startCli(['serve', '--port', '0', '--models-dir', FIXTURES, '--style', 'tiny', '--source', 'lavfi:testsrc2=size=160x90:rate=15', '--size', '160x90']);
    let stderr = '';
    child.stderr!.on('data', (c: string) => (stderr += c));
    const url = await waitFor(async () => /serving (http:\/\/\S+)\//.exec(stderr)?.[1], 20_000);
    const res = await fetch(`${url}/api/styles`);
    expect((await res.json()).style).toBe('tiny');
    const kids = await waitFor(async () => { const k = await childrenOf(child.pid!); return k.length > 0 && k; });
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(0);
    for (const pid of kids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
