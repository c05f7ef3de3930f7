import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES, ROOT, TINY, WRONG_INPUT, childrenOf, listDir, makeClip, probe, processesMentioning, runCli, startCli, tempDir, waitFor,
  type CliResult,
} from '../support/helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let clip: string;
let longClip: string;

const tiny = ['--style', TINY];
const execNode = (args: string[]) => promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });

/** One `error: ...` line, no stack trace, non-zero exit. */
function expectCleanFailure(result: CliResult, pattern: RegExp, exitCode = 1): void {
  const errorLines = result.stderr.split('\n').filter((l) => l.startsWith('error: '));
  expect(errorLines, result.stderr).toHaveLength(1);
  expect(errorLines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.code).toBe(exitCode);
}

async function expectNothingLeft(outDir: string, needle = outDir): Promise<void> {
  expect(await listDir(outDir)).not.toContainEqual(expect.stringMatching(/out\.|partial|probe/));
  await waitFor(async () => (await processesMentioning(needle)).length === 0, 5000).catch(async () => {
    throw new Error(`processes left running: ${JSON.stringify(await processesMentioning(needle))}`);
  });
}

beforeAll(async () => {
  dir = await tempDir('stylecast-e2e-');
  clip = await makeClip(join(dir.path, 'clip.mp4'), { seconds: 1 });
  longClip = await makeClip(join(dir.path, 'long.mp4'), { width: 160, height: 120, seconds: 40, audio: true });
});
afterAll(() => dir.cleanup());

describe('stylecast stylize (CLI end to end)', () => {
  it('stylizes a file, prints progress and a summary', async () => {
    const out = join(dir.path, 'ok.mp4');
    const r = await runCli(['stylize', clip, '-o', out, ...tiny, '--height', '96', '--lanes', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/device cpu( \(auto\))? \(2 lanes\)/);
    expect(r.stderr).toMatch(/frames 30\/30 \(100%\) [\d.]+ fps ETA/);
    expect(r.stderr).toMatch(/done: .*ok\.mp4 - 30 frames in [\d.]+ s \([\d.]+ fps\), mean flicker [\d.]+, device cpu, 128x96, audio copied/);
    const v = (await probe(out)).streams.find((s) => s.codec_type === 'video')!;
    expect([v.width, v.height, Number(v.nb_read_frames)]).toEqual([128, 96, 30]);
  });

  it('--batch runs frames several to a model run and says so', async () => {
    const out = join(dir.path, 'batch.mp4');
    const r = await runCli(['stylize', clip, '-o', out, ...tiny, '--height', '96', '--lanes', '1', '--batch', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/device cpu( \(auto\))? \(4 frames a run\)/);
    const runs = Number(/done: .* - 30 frames in .*, (\d+) model runs/.exec(r.stderr)?.[1]);
    expect(runs).toBeGreaterThanOrEqual(8);
    expect(runs).toBeLessThan(30);
  });

  it('--preset fast runs the fast variant at its model scale; quality the full model', async () => {
    const fast = await runCli(['stylize', clip, '-o', join(dir.path, 'fast.mp4'), '--models-dir', FIXTURES, '--style', 'tiny', '--preset', 'fast']);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stderr).toMatch(/style tiny-fast \(fast\), 160x120 \(model at 80x60\)/);
    const quality = await runCli(['stylize', clip, '-o', join(dir.path, 'quality.mp4'), '--models-dir', FIXTURES, '--style', 'tiny', '--preset', 'quality']);
    expect(quality.stderr).toMatch(/style tiny \(quality\), 160x120,/);
    const v = (await probe(join(dir.path, 'fast.mp4'))).streams.find((s) => s.codec_type === 'video')!;
    expect([v.width, v.height]).toEqual([160, 120]);
  });

  it('a sub-pixel fast network (halves inside its graph) runs at full size, also at sizes not a multiple of 8', async () => {
    const out = join(dir.path, 'subpixel.mp4');
    const r = await runCli(['stylize', clip, '-o', out, '--style', join(FIXTURES, 'tiny-subpixel.onnx'), '--size', '92x68']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/style tiny-subpixel \(fast\), 92x68, /); // no "model at": it halves the frame itself
    const v = (await probe(out)).streams.find((s) => s.codec_type === 'video')!;
    expect([v.width, v.height]).toEqual([92, 68]);
    const listing = await runCli(['models', '--models-dir', FIXTURES, '--all']);
    expect(listing.stdout).toMatch(/^tiny-subpixel\s.*fast @0.5x sub-pixel.*ok$/m);
  });

  it('stylizes a still image into .png, .jpg and .webp; refuses a video into an image', async () => {
    const still = join(dir.path, 'still.png');
    const { execFile } = await import('node:child_process');
    await new Promise<void>((done, fail) =>
      execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120', '-frames:v', '1', still], (e) => (e ? fail(e) : done())));
    for (const [ext, codec] of [['png', 'png'], ['jpg', 'mjpeg'], ['webp', 'webp']] as const) {
      const out = join(dir.path, `still-out.${ext}`);
      const r = await runCli(['stylize', still, '-o', out, ...tiny, '--preset', 'quality']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/lanes/); // one picture: one session, not two
      const v = (await probe(out)).streams.find((s) => s.codec_type === 'video')!;
      expect([v.codec_name, v.width, v.height]).toEqual([codec, 160, 120]);
    }
    const refused = await runCli(['stylize', clip, '-o', join(dir.path, 'frames.png'), ...tiny]);
    expectCleanFailure(refused, /\.png output is a still image, but the input has 30 frames/);
    expect(await listDir(dir.path)).not.toContain('frames.png');
  });

  it('a folder of images in, a folder out; a bad file is reported and the rest go on', async () => {
    const { execFileSync } = await import('node:child_process');
    const inDir = join(dir.path, 'photos');
    const outDir = join(dir.path, 'stylized');
    await mkdir(inDir, { recursive: true });
    for (const name of ['a.png', 'b.jpg']) execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64', '-frames:v', '1', join(inDir, name)]);
    await writeFile(join(inDir, 'notes.txt'), 'ignored: not an image');
    const ok = await runCli(['stylize', inDir, '-o', outDir, ...tiny]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/\[2\/2\] b\.jpg: 96x64 in \d+ ms/);
    expect(await listDir(outDir)).toEqual(['a.png', 'b.jpg']);
    const again = await runCli(['stylize', inDir, '-o', outDir, ...tiny]);
    expectCleanFailure(again, /2 of the outputs exist in .*stylized \(e\.g\. a\.png\): pass -y to overwrite/);
    await writeFile(join(inDir, 'c.png'), 'not a picture');
    // After a failure, and at another size, the one model loaded for the folder still paints.
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', join(inDir, 'd.png')]);
    const partly = await runCli(['stylize', inDir, '-o', outDir, '-y', ...tiny]);
    expect(partly.stderr).toMatch(/\[3\/4\] c\.png: failed: /);
    expect(partly.stderr).toMatch(/\[4\/4\] d\.png: 64x48 in \d+ ms/);
    expectCleanFailure(partly, /1 of 4 images failed \(c\.png\)/);
    expect(await listDir(outDir)).toEqual(['a.png', 'b.jpg', 'd.png']); // no half-written c.png
  });

  it('stylizes a stream URL (http), and a refused URL is one clear line', async () => {
    const { createServer } = await import('node:http');
    const bytes = await readFile(clip);
    const http = createServer((_req, res) => res.end(bytes));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/clip.mp4`;
      const out = join(dir.path, 'from-url.mp4');
      const r = await runCli(['stylize', url, '-o', out, ...tiny]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/done: .*from-url\.mp4 - 30 frames/);
    } finally {
      await new Promise((r) => http.close(r));
    }
    const refused = await runCli(['stylize', 'rtsp://127.0.0.1:1/none', '-o', join(dir.path, 'none.mp4'), ...tiny]);
    expectCleanFailure(refused, /cannot open the stream: rtsp:\/\/127\.0\.0\.1:1\/none/);
  });

  it('refuses to overwrite without -y, overwrites with it', async () => {
    const out = join(dir.path, 'exists.mp4');
    await writeFile(out, 'keep me');
    expectCleanFailure(await runCli(['stylize', clip, '-o', out, ...tiny]), /output already exists: .*exists\.mp4 \(use -y to overwrite\)/);
    expect(await readFile(out, 'utf8')).toBe('keep me');
    const r = await runCli(['stylize', clip, '-o', out, ...tiny, '-y', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/frames \d+\//);
  });

  describe('bad input: one clear line, non-zero exit, no output, no child left', () => {
    const cases: Array<[string, () => Promise<string[]>, RegExp, number?]> = [
      ['missing file', async () => ['stylize', join(dir.path, 'nope.mp4')], /input file not found: .*nope\.mp4/],
      ['empty file', async () => {
        await writeFile(join(dir.path, 'empty.mp4'), '');
        return ['stylize', join(dir.path, 'empty.mp4')];
      }, /input file is empty/],
      ['a text file named .mp4', async () => {
        await writeFile(join(dir.path, 'text.mp4'), 'hello, I am not a video\n'.repeat(20));
        return ['stylize', join(dir.path, 'text.mp4')];
      }, /not a video ffmpeg can read: .*text\.mp4/],
      ['a truncated video', async () => {
        const whole = await makeClip(join(dir.path, 'whole.mp4'), { seconds: 2, audio: false, extraArgs: ['-movflags', '+faststart'] });
        const bytes = await readFile(whole);
        await writeFile(join(dir.path, 'cut.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
        return ['stylize', join(dir.path, 'cut.mp4')];
      }, /input is truncated or damaged: decoded \d+ of 60 frames/],
      ['a video cut before its index', async () => {
        const whole = await makeClip(join(dir.path, 'whole2.mp4'), { seconds: 2, audio: false });
        const bytes = await readFile(whole);
        await writeFile(join(dir.path, 'cut2.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
        return ['stylize', join(dir.path, 'cut2.mp4')];
      }, /not a video ffmpeg can read: .*cut2\.mp4/],
      ['no video stream', async () => {
        const { execFileSync } = await import('node:child_process');
        execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine', '-t', '1', join(dir.path, 'audio.m4a')]);
        return ['stylize', join(dir.path, 'audio.m4a')];
      }, /no video stream in .*audio\.m4a/],
      ['unknown style', async () => ['stylize', clip, '--style', 'van-gogh-2000'], /unknown style "van-gogh-2000"/],
      ['a model that is not ONNX', async () => {
        await writeFile(join(dir.path, 'fake.onnx'), 'not a model');
        return ['stylize', clip, '--style', join(dir.path, 'fake.onnx')];
      }, /fake\.onnx is not a valid ONNX model/],
      ['a model with the wrong inputs', async () => ['stylize', clip, '--style', WRONG_INPUT], /does not follow the model contract: input is named "image", expected "input"/],
      ['a model whose output is not the input size', async () => ['stylize', clip, '--style', join(FIXTURES, 'wrong-output.onnx')],
        /^error: the model's output is 40x30 for a 80x60 input: the model contract needs the output the same size as the input$/],
      ['a small PNG that declares 16000x16000', async () => {
        const { execFileSync } = await import('node:child_process');
        const { crc32 } = await import('node:zlib');
        const small = join(dir.path, 'small.png');
        execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', small]);
        const bytes = await readFile(small);
        bytes.writeUInt32BE(16000, 16); // IHDR width
        bytes.writeUInt32BE(16000, 20); // IHDR height
        bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)) >>> 0, 29);
        await writeFile(join(dir.path, 'huge.png'), bytes);
        return ['stylize', join(dir.path, 'huge.png')];
      }, /huge\.png is 16000x16000 \(256\.0 MP\): larger than 8192 px a side or 36 MP \(--max-input-pixels\)/],
      ['two frames ten hours apart', async () => {
        const { execFileSync } = await import('node:child_process');
        const gap = join(dir.path, 'gap.mkv');
        execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:size=64x64:rate=1', '-frames:v', '2', '-vf', 'setpts=N*36000/TB', '-fps_mode', 'passthrough', gap]);
        return ['stylize', gap];
      }, /gap\.mkv: its timestamps span \d+ frames but the file holds only \d+ bytes/],
      ['output directory missing', async () => ['stylize', clip, '-o', join(dir.path, 'no', 'such', 'dir', 'out.mp4')], /output directory does not exist/],
      ['output directory not writable', async () => {
        // Root ignores permission bits, so use a directory no one can create files in.
        if (process.getuid?.() === 0) return ['stylize', clip, '-o', '/sys/out.mp4'];
        const ro = join(dir.path, 'readonly');
        await mkdir(ro, { recursive: true });
        await chmod(ro, 0o555);
        return ['stylize', clip, '-o', join(ro, 'out.mp4')];
      }, /output directory is not writable/],
      ['output = input', async () => {
        const copy = join(dir.path, 'same.mp4');
        await copyFile(clip, copy);
        return ['stylize', copy, '-o', copy, '-y'];
      }, /output is the same file as the input/],
      ['unsupported output extension', async () => ['stylize', clip, '-o', join(dir.path, 'out.avi')], /unsupported output extension ".avi"/],
      ['bad --size', async () => ['stylize', clip, '--size', 'big'], /--size must look like 640x360/, 2],
      ['bad --device', async () => ['stylize', clip, '--device', 'tpu'], /unknown device "tpu"/, 2],
      ['bad --lanes', async () => ['stylize', clip, '--lanes', 'two'], /--lanes must be a whole number up to 16, got "two"/, 2],
      ['bad --batch', async () => ['stylize', clip, '--batch', '0'], /--batch must be at least 1, got "0"/, 2],
      ['bad --keep-colour', async () => ['stylize', clip, '--keep-colour', '2'], /--keep-colour must be a number from 0 to 1, got "2"/, 2],
      ['bad --video-codecs', async () => ['stylize', clip, '--video-codecs', 'nvidia'], /--video-codecs takes auto, gpu, cpu, not "nvidia"/, 2],
      ['bad --stroke-scale', async () => ['stylize', clip, '--stroke-scale', '10'], /--stroke-scale must be a number from 0.25 to 4, got "10"/, 2],
      ['--stroke-scale with --model-scale', async () => ['stylize', clip, '--stroke-scale', '2', '--model-scale', '0.5'], /give --stroke-scale or --model-scale, not both/, 2],
      ['--device cuda without a GPU', async () => ['stylize', clip, '--device', 'cuda'], /--device cuda: the CUDA execution provider could not be loaded/],
    ];
    for (const [name, makeArgs, pattern, exitCode] of cases) {
      it(name, async () => {
        const outDir = join(dir.path, `case-${name.replace(/\W+/g, '-')}`);
        await mkdir(outDir, { recursive: true });
        const args = await makeArgs();
        if (!args.includes('-o')) args.push('-o', join(outDir, 'out.mp4'));
        if (!args.includes('--style')) args.push(...tiny);
        const result = await runCli(args);
        expectCleanFailure(result, pattern, exitCode ?? 1);
        await expectNothingLeft(outDir);
      });
    }

    it('odd frame sizes work (not an error)', async () => {
      const odd = await makeClip(join(dir.path, 'odd.mkv'), { width: 161, height: 121, seconds: 0.3, audio: false, source: 'testsrc' });
      const out = join(dir.path, 'odd-out.mp4');
      const r = await runCli(['stylize', odd, '-o', out, ...tiny]);
      expect(r.code, r.stderr).toBe(0);
      const v = (await probe(out)).streams[0]!;
      expect([v.width, v.height]).toEqual([160, 120]);
    });

    for (const [which, marker, pattern] of [
      ['decoder', 'pipe:1', /decoding failed \(killed by SIGKILL\)/],
      ['encoder', 'pipe:0', /encod(ing failed \(killed by SIGKILL\)|er stopped unexpectedly)/],
    ] as const) {
      it(`ffmpeg ${which} killed mid-run`, async () => {
        const outDir = join(dir.path, `killed-${which}`);
        await mkdir(outDir);
        const { child, done } = startCli(['stylize', longClip, '-o', join(outDir, 'out.mp4'), ...tiny]);
        const ffmpegPid = await waitFor(async () => {
          for (const pid of await childrenOf(child.pid!)) {
            const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
            if (cmd.includes('rawvideo') && cmd.includes(marker)) return pid;
          }
          return undefined;
        });
        await new Promise((r) => setTimeout(r, 300));
        process.kill(ffmpegPid, 'SIGKILL');
        const result = await done;
        expectCleanFailure(result, pattern);
        await expectNothingLeft(outDir);
        await expectNothingLeft(outDir, longClip);
      });
    }

    it('Ctrl-C (SIGINT) mid-run', async () => {
      const outDir = join(dir.path, 'interrupted');
      await mkdir(outDir);
      const { child, done } = startCli(['stylize', longClip, '-o', join(outDir, 'out.mp4'), ...tiny]);
      let stderr = '';
      child.stderr!.on('data', (c: string) => (stderr += c));
      await waitFor(async () => stderr.includes('frames '));
      child.kill('SIGINT');
      const result = await done;
      expectCleanFailure(result, /interrupted \(SIGINT\)/, 130);
      await expectNothingLeft(outDir);
      await expectNothingLeft(outDir, longClip);
    });

    it('SIGTERM at 12 moments from start-up to mid-run: always a clean exit, never an abort, nothing left', async () => {
      const outDir = join(dir.path, 'terminated');
      await mkdir(outDir);
      for (let i = 0; i < 12; i++) {
        const { child, done } = startCli(['stylize', longClip, '-o', join(outDir, 'out.mp4'), '-y', ...tiny]);
        await new Promise((r) => setTimeout(r, 40 + i * 60)); // 40 ms (loading) .. 700 ms (running)
        child.kill('SIGTERM');
        const result = await done;
        expect(result.stderr).not.toMatch(/terminate called|Napi::Error|Aborted/);
        // Before Node has installed its handler the default action ends it (signal SIGTERM); after, our exit code.
        const ending = result.signal ?? result.code;
        expect(['SIGTERM', 130, 143], `run ${i}: ${result.stderr}`).toContain(ending);
      }
      await expectNothingLeft(outDir);
    }, 60_000);
  });
});

describe('temporary files of killed runs', () => {
  it('a run removes the .partial files that SIGKILLed runs left for the same output, and keeps a live one', async () => {
    const { spawnSync } = await import('node:child_process');
    const deadPid = spawnSync('true').pid!; // exited: no process has this pid now
    const outDir = join(dir.path, 'stale');
    await mkdir(outDir, { recursive: true });
    const stale = join(outDir, `.out.mp4.${deadPid}.0badc0de.partial`);
    const live = join(outDir, `.out.mp4.${process.pid}.0000beef.partial`);
    const other = join(outDir, `.other.mp4.${deadPid}.12345678.partial`);
    for (const f of [stale, live, other]) await writeFile(f, 'half a video');
    const r = await runCli(['stylize', clip, '-o', join(outDir, 'out.mp4'), ...tiny]);
    expect(r.code, r.stderr).toBe(0);
    expect((await listDir(outDir)).sort()).toEqual([`.other.mp4.${deadPid}.12345678.partial`, `.out.mp4.${process.pid}.0000beef.partial`, 'out.mp4'].sort());
  });
});

describe('bench --record', () => {
  it('writes the speed into the manifest and leaves every other line as the trainer spelled it', async () => {
    const models = join(dir.path, 'record-models');
    await mkdir(models, { recursive: true });
    await copyFile(TINY, join(models, 'tiny.onnx'));
    // As the trainer's Python writes floats: 1.0, 1e-05.
    const written = (await readFile(join(FIXTURES, 'tiny.json'), 'utf8'))
      .replace('"seed": 0', '"seed": 0,\n    "lr": 1e-05,\n    "model_scale": 1.0');
    await writeFile(join(models, 'tiny.json'), written);
    const r = await execNode([join(ROOT, 'dist', 'bench', 'bench.js'), '--style', join(models, 'tiny.onnx'), '--input', clip,
      '--model-frames', '2', '--e2e-frames', '2', '--ffmpeg-frames', '2', '--no-torch', '--record']);
    expect(r.stdout).toMatch(/^recorded [\d.]+ fps in .*tiny\.json$/m);
    const after = await readFile(join(models, 'tiny.json'), 'utf8');
    const kept = written.split('\n');
    const added = after.split('\n').filter((line) => !kept.includes(line));
    expect(added.map((line) => line.trim().split(':')[0])).toEqual(['"metrics"', '"cpu_fps_640x360"', '"cpu_fps_machine"', '"cpu_fps_note"']);
    expect(after).toContain('"model_scale": 1.0');
    expect(after).toContain('"parity_max_abs_diff": 2.3245811462402344e-06');
    expect(after.split('\n').length).toBe(kept.length + 4); // "metrics": {} opened into 3 fields and a closing brace
  });
});

describe('stylecast models and --help', () => {
  it('lists models with their check status; a broken one makes it exit 1', async () => {
    const r = await runCli(['models', '--models-dir', FIXTURES, '--all']);
    expect(r.stdout).toMatch(/^ID\s+TITLE/m);
    expect(r.stdout).toMatch(/^tiny\s+Tiny test model \(tiny\).*quality.*ok$/m);
    expect(r.stdout).toMatch(/^  tiny-fast\s+fast @0.5x.*ok$/m);
    expect(r.stdout).toMatch(/^wrong-input .*INVALID: .*input is named "image"/m);
    expect(r.code).toBe(1);
    const json = JSON.parse((await runCli(['models', '--models-dir', FIXTURES, '--json'])).stdout);
    expect(json.models.map((m: { id: string }) => m.id)).toContain('tiny');
  });

  it('a model file that does not match its manifest sha256 is INVALID', async () => {
    const models = join(dir.path, 'sha-models');
    await mkdir(models, { recursive: true });
    await copyFile(TINY, join(models, 'tiny.onnx'));
    const manifest = JSON.parse(await readFile(join(FIXTURES, 'tiny.json'), 'utf8'));
    await writeFile(join(models, 'tiny.json'), JSON.stringify(manifest));
    expect((await runCli(['models', '--models-dir', models])).stdout).toMatch(/^tiny .*ok$/m);
    // What users see of a style's artifacts: blobs and rims at 720p / 1080p, from the manifest's metrics.
    const metrics = { blobs_720p: 2, blobs_1080p: 4, halo_width_px_720p: 1, halo_width_px_1080p: 3 };
    await writeFile(join(models, 'tiny.json'), JSON.stringify({ ...manifest, metrics }));
    const listed = (await runCli(['models', '--models-dir', models])).stdout;
    expect(listed).toMatch(/^ID .*BLOBS 720p \/ 1080p\s+RIMS 720p \/ 1080p\s+STATUS$/m);
    expect(listed).toMatch(/^tiny .*\s2 \/ 4\s+1 \/ 3 px\s+ok$/m);
    await writeFile(join(models, 'tiny.json'), JSON.stringify({ ...manifest, sha256: '0'.repeat(64) }));
    const r = await runCli(['models', '--models-dir', models]);
    expect(r.stdout).toMatch(/^tiny .*INVALID: .*does not match the manifest's sha256/m);
    expect(r.code).toBe(1);
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['stylize', '--help'], ['models', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: stylecast/);
    }
    const unknown = await runCli(['transmogrify']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'transmogrify'/);
  });
});
