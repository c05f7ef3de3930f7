// Beyond one machine: the stylized broadcast is published once into Debian's
// Janus (VideoRoom) and viewers subscribe to Janus, not to stylecast.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../dist/core/log.js';
import { JanusViewer } from '../../dist/bench/janus-viewer.js';
import { StylecastServer } from '../../dist/transport/server.js';
import { FIXTURES, runCli, tempDir, waitFor } from '../support/helpers.js';
import { connect, startTestServer } from '../support/live-client.js';
import { JANUS, startJanus } from '../../dist/bench/janus-process.js';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc');

const logLines: string[] = [];
const log = createLogger('debug', (line) => logLines.push(line));
let dir: { path: string; cleanup: () => Promise<void> };
let janus: Awaited<ReturnType<typeof startJanus>> | null = null;
let server: StylecastServer | null = null;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** A viewer through Janus alone (stylecast's JanusViewer: janode + node-webrtc); mean RGB of its last frame. */
async function subscribe(url: string, room: number): Promise<{ frames: () => number; meanRgb: () => number[] | null }> {
  const viewer = await JanusViewer.open(url, room);
  cleanups.push(() => viewer.close());
  const meanRgb = () => {
    const last = viewer.lastFrame;
    if (!last) return null;
    const { width, height } = last;
    const rgba = new Uint8Array(width * height * 4);
    wrtc.nonstandard.i420ToRgba(last, { width, height, data: rgba });
    const sum = [0, 0, 0];
    for (let i = 0; i < rgba.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += rgba[i + c]!;
    return sum.map((v) => v / (width * height));
  };
  return { frames: () => viewer.frames, meanRgb };
}

/** stylecast on smptebars with the tiny fixture, publishing into a Janus room. */
function serveInto(url: string, room: number): Promise<StylecastServer> {
  return startTestServer({ log, janus: { url, room } });
}

const available = existsSync(JANUS);

beforeAll(async () => {
  dir = await tempDir('stylecast-janus-');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server?.close();
  server = null;
  await janus?.close();
  janus = null;
});
afterAll(() => dir.cleanup());

describe.skipIf(!available)('Janus fan-out (Debian janus, VideoRoom)', () => {
  it('publishes the broadcast once; 3 viewers on Janus receive stylized frames; stylecast holds one peer', async () => {
    janus = await startJanus(dir.path);
    server = await serveInto(janus.url, 4321);
    const status = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { janus: { state: string; feed: number } }).janus;
    expect(await status()).toMatchObject({ state: 'publishing', room: 4321 });
    const viewers: Array<Awaited<ReturnType<typeof subscribe>>> = [];
    for (let i = 0; i < 3; i++) viewers.push(await subscribe(janus.url, 4321));
    await waitFor(async () => viewers.every((v) => v.frames() > 30), 30_000);
    // Stylized: far from the bars themselves (their mean RGB, measured with ffmpeg: 92.1, 91.6, 103.1).
    const bars = [92.1, 91.6, 103.1];
    for (const viewer of viewers) {
      const mean = viewer.meanRgb()!;
      console.log(`viewer through Janus: mean RGB ${mean.map((v) => v.toFixed(1)).join(', ')} (bars ${bars.join(', ')})`);
      expect(Math.max(...mean.map((v, i) => Math.abs(v - bars[i]!)))).toBeGreaterThan(40);
    }
    // The stylizing host serves one WebRTC track (to Janus) whatever the number of viewers.
    expect(server.counts().peers).toBe(0);
    const stats = ((await (await fetch(`${server.url}/api/stats`)).json()) as { broadcast: { webrtcViewers: number } }).broadcast;
    expect(stats.webrtcViewers).toBe(1);
    // Operators see it on the page too: the control channel's stats carry Janus's state.
    const control = await connect(`${server.url.replace('http', 'ws')}/ws`);
    try {
      expect((await control.next('stats')).server.janus).toMatchObject({ room: 4321, state: 'publishing' });
    } finally {
      control.ws.close();
    }
  });

  it('survives Janus restarting: it publishes again, and viewers can subscribe again', async () => {
    janus = await startJanus(dir.path);
    server = await serveInto(janus.url, 77);
    const url = janus.url;
    await janus.close();
    const port = Number(new URL(url).port);
    janus = await startJanus(dir.path, port);
    const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { janus: { state: string; publishes: number } }).janus;
    await waitFor(async () => {
      const s = await stats();
      return s.state === 'publishing' && s.publishes === 2;
    }, 30_000);
    const viewer = await subscribe(janus.url, 77);
    await waitFor(async () => viewer.frames() > 10, 30_000);
    expect(logLines.some((l) => /janus: .*publishing again shortly/.test(l))).toBe(true);
  });

  it('stylecast serve --janus with no Janus there: one clear line, non-zero exit', async () => {
    const r = await runCli(['serve', '--port', '0', '--source', 'lavfi:smptebars=size=160x90:rate=10', '--models-dir', FIXTURES, '--style', 'tiny', '--janus', 'ws://127.0.0.1:9/']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: cannot publish to Janus at ws:\/\/127\.0\.0\.1:9\/ \(room 1234\): /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const bad = await runCli(['serve', '--janus', 'http://x', '--port', '0']);
    expect(bad.stderr).toMatch(/--janus must be a ws:\/\/ or wss:\/\/ URL/);
  });
});
