import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcodeFile } from '../../dist/pipeline/transcode.js';
import { ffmpegCodecProbe } from '../../dist/media/ffmpeg/gpu-codecs.js';
import { probeMedia } from '../../dist/media/ffmpeg/probe.js';
import { ROOT, TINY, decodeRgb, listDir, makeClip, meanAbsDiff, probe, tempDir } from '../support/helpers.js';

describe('transcodeFile (real ffmpeg + real ONNX Runtime)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let clip: string;
  beforeAll(async () => {
    dir = await tempDir();
    clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 160, height: 120, seconds: 2, fps: 30 });
  });
  afterAll(() => dir.cleanup());

  it('keeps frame count, size, duration and audio, and changes the picture', async () => {
    const output = join(dir.path, 'out.mp4');
    const progress: number[] = [];
    const summary = await transcodeFile({ input: clip, output, modelPath: TINY, device: 'cpu', onProgress: (p) => progress.push(p.frames) });
    expect(summary.frames).toBe(60);
    expect(summary.audio).toBe('copied');
    expect(summary.meanFlicker).not.toBeNull();
    expect(progress.at(-1)).toBe(60);
    const info = await probe(output);
    const video = info.streams.find((s) => s.codec_type === 'video')!;
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    expect(video.codec_name).toBe('h264');
    expect([video.width, video.height]).toEqual([160, 120]);
    expect(Number(video.nb_read_frames)).toBe(60);
    expect(Math.abs(Number(info.format.duration) - 2)).toBeLessThan(0.15);
    expect(audio?.codec_name).toBe('aac');
    const before = await decodeRgb(clip, 160, 120, 5);
    const after = await decodeRgb(output, 160, 120, 5);
    expect(meanAbsDiff(before, after)).toBeGreaterThan(10);
    expect((await listDir(dir.path)).filter((n) => n.includes('partial') || n.includes('probe'))).toEqual([]);
  });

  it('writes WebM (VP9 + Opus, audio re-encoded from AAC) and MOV', async () => {
    const webm = join(dir.path, 'out.webm');
    const s = await transcodeFile({ input: clip, output: webm, modelPath: TINY, device: 'cpu' });
    expect(s.audio).toBe('re-encoded');
    const info = await probe(webm);
    expect(info.streams.map((x) => x.codec_name).sort()).toEqual(['opus', 'vp9']);
    expect(Number(info.streams.find((x) => x.codec_type === 'video')!.nb_read_frames)).toBe(60);
    const mov = join(dir.path, 'out.mov');
    await transcodeFile({ input: clip, output: mov, modelPath: TINY, device: 'cpu' });
    expect((await probe(mov)).format.format_name).toContain('mov');
  });

  it('scales with --height and handles odd sizes (padded for the model, even for 4:2:0)', async () => {
    const scaled = join(dir.path, 'scaled.mp4');
    const s = await transcodeFile({ input: clip, output: scaled, modelPath: TINY, device: 'cpu', size: { kind: 'height', height: 72 } });
    expect(s.size).toEqual({ width: 96, height: 72 });
    const v = (await probe(scaled)).streams.find((x) => x.codec_type === 'video')!;
    expect([v.width, v.height]).toEqual([96, 72]);

    const odd = await makeClip(join(dir.path, 'odd.mkv'), { width: 161, height: 121, seconds: 0.5, audio: false, source: 'testsrc' });
    const oddOut = join(dir.path, 'odd-out.mp4');
    const so = await transcodeFile({ input: odd, output: oddOut, modelPath: TINY, device: 'cpu' });
    expect(so.size).toEqual({ width: 161, height: 121 });
    expect(so.audio).toBe('none');
    const ov = (await probe(oddOut)).streams;
    expect(ov).toHaveLength(1);
    expect([ov[0]!.width, ov[0]!.height]).toEqual([160, 120]);
  });

  it('keeps memory bounded on a long clip: only a few tensor buffers ever exist', async () => {
    const long = await makeClip(join(dir.path, 'long.mp4'), { width: 64, height: 48, seconds: 10, fps: 30, audio: false });
    const output = join(dir.path, 'long-out.mp4');
    const summary = await transcodeFile({ input: long, output, modelPath: TINY, device: 'cpu', framesInFlight: 4 });
    expect(summary.frames).toBe(300);
    expect(summary.peakFrameBuffers).toBeLessThanOrEqual(10);
  });

  it('--stabilize lowers the flicker score of the same clip', async () => {
    // A static scene with film-like noise: the random model turns noise into shimmer.
    const still = await makeClip(join(dir.path, 'still.mp4'), { width: 96, height: 72, seconds: 1, audio: false, source: 'smptebars', extraArgs: ['-vf', 'noise=alls=6:allf=t'] });
    const plain = await transcodeFile({ input: still, output: join(dir.path, 's0.mp4'), modelPath: TINY, device: 'cpu' });
    const stable = await transcodeFile({ input: still, output: join(dir.path, 's1.mp4'), modelPath: TINY, device: 'cpu', stabilize: true });
    expect(plain.meanFlicker).toBeGreaterThan(0);
    expect(stable.meanFlicker!).toBeLessThan(plain.meanFlicker!);
  });

  /** A moving clip stylized one frame at a time and again with `options`: the same video, frames in order. */
  async function sameVideoAsOneAtATime(name: string, options: { threads: number; lanes: number; batch?: number }) {
    const moving = await makeClip(join(dir.path, `moving-${name}.mp4`), { width: 96, height: 72, seconds: 1, fps: 30, audio: false, source: 'testsrc2' });
    const one = await transcodeFile({ input: moving, output: join(dir.path, `${name}-one.mp4`), modelPath: TINY, device: 'cpu', threads: 1, lanes: 1 });
    const other = await transcodeFile({ input: moving, output: join(dir.path, `${name}.mp4`), modelPath: TINY, device: 'cpu', ...options });
    expect(other.frames).toBe(30);
    expect(other.meanFlicker!).toBeCloseTo(one.meanFlicker!, 4);
    const a = await decodeRgb(join(dir.path, `${name}-one.mp4`), 96, 72, 30);
    const b = await decodeRgb(join(dir.path, `${name}.mp4`), 96, 72, 30);
    expect(b.length).toBe(96 * 72 * 3 * 30);
    expect(meanAbsDiff(a, b)).toBeLessThan(0.5);
    return { one, other };
  }

  it('two inference lanes give the same video as one: frames stay in order', async () => {
    await sameVideoAsOneAtATime('lanes2', { threads: 2, lanes: 2 });
  });

  it('frames in batches give the same video as one at a time: frames stay in order', async () => {
    const { one, other: four } = await sameVideoAsOneAtATime('batch4', { threads: 1, lanes: 1, batch: 4 });
    expect(one.modelRuns).toBe(30);
    // The decoder runs ahead of the model, so most runs carry a full batch.
    expect(four.modelRuns).toBeLessThanOrEqual(12);
  });

  it('real codec probes: libx264 works here; NVENC and NVDEC say why not (no NVIDIA driver), and gpu refuses with that reason', async () => {
    const clip = await makeClip(join(dir.path, 'probe.mp4'), { width: 96, height: 72, seconds: 1, fps: 30, audio: false });
    const probe = ffmpegCodecProbe(clip);
    expect(await probe.encoder('libx264')).toBeNull();
    const nvenc = await probe.encoder('h264_nvenc');
    const cuvid = await probe.decoder('h264_cuvid');
    if (nvenc === null && cuvid === null) return; // a machine with an NVIDIA GPU: nothing to refuse
    const reason = nvenc ?? cuvid!;
    expect(reason.split('\n')).toHaveLength(1);
    expect(reason).toMatch(/libcuda|nvcuvid|cuda|device|driver/i);
    const output = join(dir.path, 'gpu-codecs.mp4');
    await expect(transcodeFile({ input: clip, output, modelPath: TINY, device: 'cpu', threads: 1, videoCodecs: 'gpu' }))
      .rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE', message: expect.stringMatching(/^--video-codecs gpu: NV(ENC|DEC) \((h264_nvenc|h264_cuvid)\) does not work here: /) });
    expect(await listDir(dir.path)).not.toContain('gpu-codecs.mp4');
    let codecs: unknown;
    await transcodeFile({ input: clip, output, modelPath: TINY, device: 'cpu', threads: 1, onStart: (start) => { codecs = start.codecs; } });
    expect(codecs).toEqual({ encoder: 'libx264', decoder: null, reasons: ['libx264 and the CPU decoder (the model runs on the CPU)'] });
  });

  it('probes duration, rate and audio', async () => {
    const info = await probeMedia(clip);
    expect(info).toMatchObject({ width: 160, height: 120, fpsNum: 30, fpsDen: 1, audioCodec: 'aac', videoCodec: 'h264', estimatedFrames: 60 });
  });
});

describe('internal model scale', () => {
  it('runs the model smaller and scales the output back up', async () => {
    const dir = await tempDir();
    try {
      const clip = await makeClip(join(dir.path, 'c.mp4'), { width: 160, height: 120, seconds: 0.5, audio: false });
      const out = join(dir.path, 'o.mp4');
      const s = await transcodeFile({ input: clip, output: out, modelPath: TINY, device: 'cpu', modelScale: 0.5 });
      expect(s.modelSize).toEqual({ width: 80, height: 60 });
      expect(s.size).toEqual({ width: 160, height: 120 });
      const v = (await probe(out)).streams[0]!;
      expect([v.width, v.height, Number(v.nb_read_frames)]).toEqual([160, 120, 15]);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('working size', () => {
  it('a model with a working size runs there on a larger output, and a stroke scale moves it', async () => {
    const dir = await tempDir();
    try {
      const clip = await makeClip(join(dir.path, 'c.mp4'), { width: 160, height: 120, seconds: 0.3, audio: false });
      const out = join(dir.path, 'o.mp4');
      const run = (strokeScale: number) => transcodeFile({
        input: clip, output: out, modelPath: TINY, device: 'cpu', overwrite: true,
        workingSize: { modelScale: 1, nativeShortSide: 60, strokeScale },
      });
      expect((await run(1)).modelSize).toEqual({ width: 80, height: 60 });
      expect((await run(2)).modelSize).toEqual({ width: 40, height: 30 });
      const s = await run(0.25);
      expect(s.modelSize).toEqual({ width: 160, height: 120 });
      const v = (await probe(out)).streams[0]!;
      expect([v.width, v.height]).toEqual([160, 120]);
    } finally {
      await dir.cleanup();
    }
  });
});

describe('ffmpeg children never outlive stylecast', () => {
  it('a process that exits (here with process.exit, as the CLI does) takes its running ffmpeg children with it', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `import('${ROOT}/dist/media/ffmpeg/process.js').then(({ FfmpegProcess }) => {
      const p = new FfmpegProcess('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2', '-f', 'null', '-']);
      console.log(p.pid);
      setTimeout(() => process.exit(0), 500);
    });`;
    const pid = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
    expect(pid).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    // Gone, or killed and waiting to be reaped by init (a zombie runs nothing).
    const { readFileSync } = await import('node:fs');
    let state = 'gone';
    try { state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 'gone'; } catch { /* gone */ }
    expect(['gone', 'Z']).toContain(state);
  });
});

describe('uploaded paintings never stay on disk', () => {
  it('a painting being read when the process exits has its private folder removed', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtemp, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const tmp = await mkdtemp(join(tmpdir(), 'stylecast-exit-'));
    const png = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', '-']);
    // An encoder that never answers: the exit comes while the painting is being read.
    const script = `import('${ROOT}/dist/pipeline/painting.js').then(async ({ paintingStyleFromBytes }) => {
      const engine = { styleLength: 4, encodeStyle: () => new Promise(() => {}) };
      void paintingStyleFromBytes(engine, new Uint8Array(Buffer.from('${png.toString('base64')}', 'base64')), { shortSide: 32 });
      setTimeout(() => { console.log(require('node:fs').readdirSync('${tmp}').length); process.exit(0); }, 1500);
    });`;
    try {
      const during = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } }).trim());
      expect(during).toBe(1); // it was there while reading
      expect(await readdir(tmp)).toEqual([]); // and gone with the process
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe('a memory cap for children reading untrusted input', () => {
  it('a child over its cap fails instead of growing (the same work passes without it)', async () => {
    const { FfmpegProcess } = await import('../../dist/media/ffmpeg/process.js');
    const args = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=7680x4320', '-frames:v', '2', '-f', 'null', '-'];
    const capped = new FfmpegProcess('ffmpeg', args, { memoryLimitMb: 64 });
    expect((await capped.exited).code).not.toBe(0);
    const free = new FfmpegProcess('ffmpeg', args);
    expect((await free.exited).code).toBe(0);
  });
});
