/**
 * A real OBS Studio 29 (Debian's), driven through obs-websocket: it shows the
 * stylized stream in a Media Source on the plain-HTTP `/live.mp4`, and it
 * sends its own program in over SRT (Stream -> Custom).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../dist/core/log.js';
import { ModelRegistry } from '../../dist/models/registry.js';
import { parseSourceSpec } from '../../dist/pipeline/sources.js';
import { StylecastServer } from '../../dist/transport/server.js';
import { FIXTURES, ROOT, waitFor } from '../support/helpers.js';
import { OBS_MISSING, launchObs } from '../support/obs.js';
import { lagOf, percentile, readClock, startClockReader, startClockSender } from '../support/clock.js';

/** docs/live.md's Media Source "FFmpeg Options": start decoding at once, hand frames on as they come. */
const OBS_LOW_LATENCY = 'fflags=nobuffer probesize=32 analyzeduration=0';

const WIDTH = 320;
const HEIGHT = 180;
let server: StylecastServer | null = null;
let obsInstance: Awaited<ReturnType<typeof launchObs>> | null = null;

function ffmpegRaw(args: string[], input?: Buffer, size = { width: WIDTH, height: HEIGHT }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('ffmpeg', ['-v', 'error', ...args, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${size.width}x${size.height}`, '-'],
      { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    if (input) child.stdin!.end(input);
  });
}

/** An obs-websocket screenshot (a PNG data URL) as RGB24 at its size. */
const screenshotPixels = (imageData: string, size = { width: WIDTH, height: HEIGHT }): Promise<Buffer> =>
  ffmpegRaw(['-f', 'png_pipe', '-i', 'pipe:0'], Buffer.from(imageData.replace(/^data:image\/png;base64,/, ''), 'base64'), size);

const meanAbsDiff = (a: Buffer, b: Buffer) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
};

beforeAll(() => {
  if (OBS_MISSING) console.warn(`skipping the real-OBS test: ${OBS_MISSING}`);
});
afterEach(async () => {
  await obsInstance?.close();
  obsInstance = null;
  await server?.close();
  server = null;
});

describe.skipIf(OBS_MISSING !== null)('in a real OBS Studio 29 (Xvfb, obs-websocket)', () => {
  it('a Media Source on http://.../live.mp4 shows the stylized stream, and it moves', async () => {
    const source = `testsrc2=size=${WIDTH}x${HEIGHT}:rate=30`;
    server = await StylecastServer.start({
      host: '127.0.0.1', port: 0, token: null, source: { kind: 'lavfi', graph: source },
      styleId: 'tiny', registry: await ModelRegistry.load([FIXTURES]), device: 'cpu', threads: 1, stabilize: false,
      size: { width: WIDTH, height: HEIGHT }, fps: 30, log: createLogger('warn', () => undefined), webRoot: join(ROOT, 'web'),
    });
    obsInstance = await launchObs();
    const { obs } = obsInstance;
    const { currentProgramSceneName } = await obs.call('GetCurrentProgramScene');
    await obs.call('CreateInput', {
      sceneName: currentProgramSceneName, inputName: 'stylecast', inputKind: 'ffmpeg_source',
      inputSettings: { is_local_file: false, input: `${server.url}/live.mp4`, hw_decode: false, restart_on_activate: true },
    });
    const screenshot = async () => {
      const { imageData } = await obs.call('GetSourceScreenshot', { sourceName: 'stylecast', imageFormat: 'png', imageWidth: WIDTH, imageHeight: HEIGHT });
      return screenshotPixels(imageData);
    };
    const black = Buffer.alloc(WIDTH * HEIGHT * 3);
    const first = await waitFor(async () => {
      const shot = await screenshot().catch(() => null);
      return shot && meanAbsDiff(shot, black) > 20 ? shot : null;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await screenshot();
    expect(meanAbsDiff(first, second)).toBeGreaterThan(1); // it plays, not a still
    // Stylized: far closer to what the server sends than to the unstylized source.
    const stylized = await ffmpegRaw(['-i', `${server.url}/live.mp4`, '-frames:v', '1']);
    const unstylized = await ffmpegRaw(['-f', 'lavfi', '-i', source, '-frames:v', '1']);
    const toStylized = meanAbsDiff(second, stylized);
    const toSource = meanAbsDiff(second, unstylized);
    process.stderr.write(`OBS frame: mean abs difference ${toStylized.toFixed(1)} to the stylized stream, ${toSource.toFixed(1)} to the unstylized source\n`);
    expect(toStylized * 2).toBeLessThan(toSource);
  }, 120_000);

  it("OBS streams its program to stylecast over SRT (Stream -> Custom), and the server stylizes it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stylecast-obs-srt-'));
    try {
      const clip = join(dir, 'bars.mp4');
      await new Promise<void>((resolve, reject) => execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=30`, '-t', '4', '-pix_fmt', 'yuv420p', clip],
        (error) => (error ? reject(error) : resolve())));
      const port = 20000 + Math.floor(Math.random() * 20000);
      server = await StylecastServer.start({
        host: '127.0.0.1', port: 0, token: null, source: parseSourceSpec(`srt://127.0.0.1:${port}?mode=listener`),
        styleId: 'tiny', registry: await ModelRegistry.load([FIXTURES]), device: 'cpu', threads: 1, stabilize: false,
        size: { width: WIDTH, height: HEIGHT }, fps: 30, log: createLogger('warn', () => undefined), webRoot: join(ROOT, 'web'),
      });
      obsInstance = await launchObs();
      const { obs } = obsInstance;
      await obs.call('SetVideoSettings', { baseWidth: WIDTH, baseHeight: HEIGHT, outputWidth: WIDTH, outputHeight: HEIGHT, fpsNumerator: 30, fpsDenominator: 1 });
      const { currentProgramSceneName } = await obs.call('GetCurrentProgramScene');
      await obs.call('CreateInput', {
        sceneName: currentProgramSceneName, inputName: 'bars', inputKind: 'ffmpeg_source',
        inputSettings: { is_local_file: true, local_file: clip, looping: true, hw_decode: false },
      });
      await obs.call('SetStreamServiceSettings', { streamServiceType: 'rtmp_custom', streamServiceSettings: { server: `srt://127.0.0.1:${port}`, key: '' } });
      await obs.call('StartStream');
      const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { broadcast: { framesOut: number; source: string } }).broadcast;
      await waitFor(async () => (await stats()).framesOut > 30, 45_000);
      expect((await stats()).source).toMatch(/^srt:/);
      // What leaves the server is the stylized OBS program: not black, not the clip itself.
      const stylized = await ffmpegRaw(['-i', `${server.url}/live.mp4`, '-frames:v', '1']);
      const unstylized = await ffmpegRaw(['-i', clip, '-frames:v', '1']);
      expect(meanAbsDiff(stylized, Buffer.alloc(stylized.length))).toBeGreaterThan(20);
      expect(meanAbsDiff(stylized, unstylized)).toBeGreaterThan(20);
      await obs.call('StopStream');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('a Media Source with the documented settings stays within a second of an ffmpeg reader of the same stream, and its lag does not grow (a clock in the frames)', async () => {
    // The clock's frames go out from an ffmpeg SRT sender; the lag is read back from what OBS shows
    // (GetSourceScreenshot, timed when the answer arrives: an upper bound) and, beside it, from
    // ffmpeg reading /live.mp4 directly. The bound is relative to that reader, measured in the same run:
    // an absolute one would measure the machine (OBS renders on the same cores as the stylizer).
    const width = 640;
    const height = 360;
    const port = 20000 + Math.floor(Math.random() * 20000);
    server = await StylecastServer.start({
      host: '127.0.0.1', port: 0, token: null, source: parseSourceSpec(`srt://127.0.0.1:${port}?mode=listener`),
      styleId: 'candy', preset: 'fast', registry: await ModelRegistry.load(), device: 'cpu', threads: 0, stabilize: false,
      size: { width, height }, fps: 30, log: createLogger('warn', () => undefined), webRoot: join(ROOT, 'web'),
    });
    const sender = startClockSender(`srt://127.0.0.1:${port}`, width, height, 30);
    const direct: number[] = [];
    let reader: { close: () => Promise<void> } | null = null;
    try {
      const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { broadcast: { framesOut: number; fpsOut: number; fpsIn: number; latencyP50Ms: number; dropped: number; fmp4DroppedFragments: number } }).broadcast;
      await waitFor(async () => (await stats()).framesOut > 30, 45_000);
      // ffmpeg alone first, then OBS alone: on two cores each reader slows the other.
      reader = startClockReader(`${server.url}/live.mp4`, width, height, (ms) => ms < 5000 && direct.push(ms));
      await new Promise((r) => setTimeout(r, 8000));
      await reader.close();
      reader = null;
      const alone = await stats();
      process.stderr.write(`server with ffmpeg reading: in ${alone.fpsIn} fps, out ${alone.fpsOut} fps, server-side latency p50 ${alone.latencyP50Ms.toFixed(0)} ms, fMP4 fragments dropped ${alone.fmp4DroppedFragments}\n`);
      obsInstance = await launchObs();
      const { obs } = obsInstance;
      await obs.call('SetVideoSettings', { baseWidth: width, baseHeight: height, outputWidth: width, outputHeight: height, fpsNumerator: 30, fpsDenominator: 1 });
      const { currentProgramSceneName } = await obs.call('GetCurrentProgramScene');
      await obs.call('CreateInput', {
        sceneName: currentProgramSceneName, inputName: 'stylecast', inputKind: 'ffmpeg_source',
        inputSettings: { is_local_file: false, input: `${server.url}/live.mp4`, hw_decode: false, restart_on_activate: true, buffering_mb: 0, ffmpeg_options: OBS_LOW_LATENCY },
      });
      // Small screenshots: OBS renders and encodes each one on the same two cores.
      const shotWidth = width / 2;
      const shotHeight = height / 2;
      // OBS renders the screenshot between the request and its answer: the frame's age then lies
      // between the two readings, and their midpoint is the estimate.
      const shot = async (): Promise<{ frame: Buffer; asked: number; at: number }> => {
        const asked = Date.now();
        const { imageData } = await obs.call('GetSourceScreenshot', { sourceName: 'stylecast', imageFormat: 'png', imageWidth: shotWidth, imageHeight: shotHeight });
        const at = Date.now();
        return { frame: await screenshotPixels(imageData, { width: shotWidth, height: shotHeight }), asked, at };
      };
      const black = Buffer.alloc(shotWidth * shotHeight * 3);
      const firstShown = performance.now();
      await waitFor(async () => {
        const s = await shot().catch(() => null);
        return s && meanAbsDiff(s.frame, black) > 20 ? s : null;
      }, 30_000);
      process.stderr.write(`OBS: first picture ${((performance.now() - firstShown) / 1000).toFixed(1)} s after the source was added\n`);
      const inObs: number[] = [];
      const bounds: Array<[number, number]> = [];
      const takenAt: number[] = [];
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const { frame, asked, at } = await shot();
        const code = readClock(frame, shotWidth);
        const lag = lagOf(code, Math.round((asked + at) / 2));
        if (lag < 5000) {
          inObs.push(lag);
          takenAt.push(at);
          bounds.push([lagOf(code, asked), lagOf(code, at)]);
        }
        await new Promise((r) => setTimeout(r, 400));
      }
      const figures = await stats();
      const rate = figures.fpsOut;
      process.stderr.write(`server: in ${figures.fpsIn} fps, out ${figures.fpsOut} fps, server-side latency p50 ${figures.latencyP50Ms.toFixed(0)} ms, frames dropped before inference ${figures.dropped}, fMP4 fragments dropped ${figures.fmp4DroppedFragments}\n`);
      process.stderr.write(`OBS Media Source lag (glass to glass, candy fast, 640x360, stylizer ${rate.toFixed(1)} fps): p50 ${percentile(inObs, 0.5)} ms (between ${percentile(bounds.map((b) => b[0]), 0.5)} and ${percentile(bounds.map((b) => b[1]), 0.5)}), p95 ${percentile(inObs, 0.95)} ms (${inObs.length} screenshots); ffmpeg on /live.mp4: p50 ${percentile(direct, 0.5)} ms, p95 ${percentile(direct, 0.95)} ms (${direct.length} frames)\n`);
      const half = until - 10_000;
      const earlier = inObs.filter((_, i) => takenAt[i]! <= half);
      const later = inObs.filter((_, i) => takenAt[i]! > half);
      process.stderr.write(`OBS Media Source lag p50: first 10 s ${percentile(earlier, 0.5)} ms, last 10 s ${percentile(later, 0.5)} ms\n`);
      expect(direct.length).toBeGreaterThan(50);
      expect(earlier.length).toBeGreaterThan(5);
      expect(later.length).toBeGreaterThan(5);
      expect(percentile(inObs, 0.5)).toBeLessThanOrEqual(percentile(direct, 0.5) + 1000);
      expect(percentile(later, 0.5)).toBeLessThanOrEqual(percentile(earlier, 0.5) + 500); // bounded: no backlog builds up
    } finally {
      await reader?.close();
      await sender.close();
    }
  }, 180_000);

  it('OBS sending its program over SRT for 60 s: the lag stays bounded, within a second (15 frame periods on a slow machine) of an ffmpeg sender\'s (a clock in the frames)', async () => {
    // OBS's program is a Media Source playing the clock (ffmpeg -> UDP, no buffering); OBS streams
    // it over SRT into the server; ffmpeg reads /live.mp4 and reads the clock back. The same server
    // first takes the clock straight from an ffmpeg SRT sender: the baseline.
    const width = 640;
    const height = 360;
    const srtPort = 20000 + Math.floor(Math.random() * 20000);
    const udpPort = srtPort + 1;
    server = await StylecastServer.start({
      host: '127.0.0.1', port: 0, token: null, source: parseSourceSpec(`srt://127.0.0.1:${srtPort}?mode=listener`),
      styleId: 'candy', preset: 'fast', registry: await ModelRegistry.load(), device: 'cpu', threads: 0, stabilize: false,
      size: { width, height }, fps: 30, log: createLogger('warn', () => undefined), webRoot: join(ROOT, 'web'),
    });
    const stats = async () => ((await (await fetch(`${server!.url}/api/stats`)).json()) as { broadcast: { framesOut: number; fpsIn: number; fpsOut: number; latencyP50Ms: number; source: string } }).broadcast;
    const readFor = async (ms: number): Promise<Array<{ at: number; lag: number }>> => {
      const samples: Array<{ at: number; lag: number }> = [];
      const started = performance.now();
      const reader = startClockReader(`${server!.url}/live.mp4`, width, height, (lag) => lag < 10_000 && samples.push({ at: performance.now() - started, lag }));
      await new Promise((r) => setTimeout(r, ms));
      await reader.close();
      return samples;
    };
    const p50 = (samples: Array<{ lag: number }>) => percentile(samples.map((s) => s.lag), 0.5);
    const direct = startClockSender(`srt://127.0.0.1:${srtPort}`, width, height, 30);
    let baseline: Array<{ at: number; lag: number }>;
    try {
      await waitFor(async () => (await stats()).framesOut > 30, 45_000);
      baseline = (await readFor(10_000)).filter((s) => s.at > 2000);
    } finally {
      await direct.close();
    }
    const clock = startClockSender(`udp://127.0.0.1:${udpPort}?pkt_size=1316`, width, height, 30);
    try {
      obsInstance = await launchObs();
      const { obs } = obsInstance;
      await obs.call('SetVideoSettings', { baseWidth: width, baseHeight: height, outputWidth: width, outputHeight: height, fpsNumerator: 30, fpsDenominator: 1 });
      // The lightest x264 OBS offers: on two cores OBS's own encoder competes with the stylizer.
      await obs.call('SetProfileParameter', { parameterCategory: 'SimpleOutput', parameterName: 'Preset', parameterValue: 'ultrafast' });
      await obs.call('SetProfileParameter', { parameterCategory: 'SimpleOutput', parameterName: 'VBitrate', parameterValue: '1500' });
      const { currentProgramSceneName } = await obs.call('GetCurrentProgramScene');
      await obs.call('CreateInput', {
        sceneName: currentProgramSceneName, inputName: 'clock', inputKind: 'ffmpeg_source',
        inputSettings: { is_local_file: false, input: `udp://127.0.0.1:${udpPort}`, input_format: 'mpegts', hw_decode: false, buffering_mb: 0 },
      });
      await obs.call('SetStreamServiceSettings', { streamServiceType: 'rtmp_custom', streamServiceSettings: { server: `srt://127.0.0.1:${srtPort}`, key: '' } });
      await new Promise((r) => setTimeout(r, 2000)); // the ffmpeg sender's connection has ended: the listener restarts
      await obs.call('StartStream');
      const fromObs = await waitFor(async () => {
        const b = await stats();
        return b.framesOut > 30 && b.fpsIn > 5 ? b : null;
      }, 45_000);
      expect(fromObs.source).toMatch(/^srt:/);
      const run = await readFor(60_000);
      const figures = await stats(); // while OBS still sends: the stylizer's rate over the run
      await obs.call('StopStream');
      const first = run.filter((s) => s.at > 2000 && s.at <= 12_000);
      const last = run.filter((s) => s.at > 50_000);
      process.stderr.write(`SRT in (candy fast, 640x360, stylizer ${figures.fpsOut} fps): ffmpeg sender p50 ${p50(baseline)} ms; OBS sender p50 ${p50(run)} ms `
        + `(p95 ${percentile(run.map((s) => s.lag), 0.95)} ms, ${run.length} frames), first 10 s ${p50(first)} ms, last 10 s ${p50(last)} ms; `
        + `server-side latency p50 ${figures.latencyP50Ms.toFixed(0)} ms\n`);
      expect(baseline.length).toBeGreaterThan(50);
      expect(first.length).toBeGreaterThan(20);
      expect(last.length).toBeGreaterThan(20);
      // OBS's compositor and its x264 share the two cores with the stylizer, so the time OBS's own
      // pipeline adds is a number of frame periods, not a fixed time: about 9 here at 14 fps (+620 ms)
      // and on a slower CI machine at 7.5 fps (+1063 ms). The allowance is a second or 15 frame
      // periods, whichever is longer; a backlog on the server's side would also grow over the minute.
      // OBS's share also wanders within the minute by as much (+513 ms first to last 10 s at 12.5 fps
      // with no backlog; -1800 ms in another run), so the growth gets the same allowance: a queue that
      // fell behind by even 1 fps would add seconds over 50 s.
      const allowanceMs = Math.max(1000, (15 * 1000) / figures.fpsOut);
      expect(figures.fpsOut).toBeGreaterThan(2);
      expect(p50(run)).toBeLessThanOrEqual(p50(baseline) + allowanceMs);
      expect(p50(last)).toBeLessThanOrEqual(p50(first) + allowanceMs); // bounded: it does not grow over the minute
    } finally {
      await clock.close();
    }
  }, 240_000);
});
