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

const WIDTH = 320;
const HEIGHT = 180;
let server: StylecastServer | null = null;
let obsInstance: Awaited<ReturnType<typeof launchObs>> | null = null;

function ffmpegRaw(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('ffmpeg', ['-v', 'error', ...args, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-'],
      { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    if (input) child.stdin!.end(input);
  });
}

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
      return ffmpegRaw(['-f', 'png_pipe', '-i', 'pipe:0'], Buffer.from(imageData.replace(/^data:image\/png;base64,/, ''), 'base64'));
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
});
