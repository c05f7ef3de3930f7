/**
 * `npm run bench`: prints, from one run on the same clip, model-only fps,
 * ffmpeg-only (decode + encode, no model) fps, end-to-end fps and their ratio,
 * and ONNX Runtime against PyTorch eager for the same network. It measures;
 * it never asserts.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { lastValueFrom } from 'rxjs';
import { StylecastError, describeError } from '../core/errors.js';
import { VideoDecoder } from '../media/ffmpeg/decoder.js';
import { VideoEncoder } from '../media/ffmpeg/encoder.js';
import { probeMedia } from '../media/ffmpeg/probe.js';
import { StyleEngine } from '../models/engine.js';
import { updateManifest } from '../models/manifest.js';
import { ModelRegistry, type ModelEntry } from '../models/registry.js';
import { parseDevice } from '../models/providers.js';
import { CreditGate } from '../pipeline/flow-control.js';
import { modelSizeFor, parseSizeRequest, resolveSize } from '../pipeline/sizing.js';
import { decodeStage, encodeStage } from '../pipeline/stages.js';
import { transcodeFile, type PaintingsRequest } from '../pipeline/transcode.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const SHARED_CLIP = resolve(ROOT, '..', 'shared', 'data', 'videos', 'cutBunny.mp4');
const SHARED_PAINTING = resolve(ROOT, '..', 'shared', 'data', 'styles', 'starry_night.jpg');

const { values: args } = parseArgs({
  options: {
    input: { type: 'string' },
    style: { type: 'string' },
    'style-image': { type: 'string' },
    size: { type: 'string', default: '640x360' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string', default: '0' },
    lanes: { type: 'string', default: '0' },
    batch: { type: 'string', default: '1' },
    'frame-io': { type: 'string', default: 'pixels' },
    'model-frames': { type: 'string', default: '20' },
    'e2e-frames': { type: 'string', default: '60' },
    'ffmpeg-frames': { type: 'string', default: '300' },
    'no-torch': { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    variants: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npm run bench -- [--input CLIP] [--style ID|FILE] [--style-image PAINTING] [--size 640x360] [--device cpu|cuda|auto]
  [--threads N] [--lanes N] [--batch N] [--model-frames N] [--e2e-frames N] [--ffmpeg-frames N] [--no-torch] [--frame-io pixels|float]
  [--variants] a table of every shipped model and variant: model-only and end-to-end fps, speed-up
  [--record]   store the model-only fps in the model's manifest (metrics.cpu_fps_640x360; CPU, 640x360 only)
Default clip: ../shared/data/videos/cutBunny.mp4 if present, else samples/sample.mp4.
--frame-io float: frames cross into the model as float tensors converted by the worker, not 8-bit pixels converted in the graph.
--threads is ONNX Runtime's whole thread budget; --lanes the sessions run side by side (0: auto, 2 on a multi-core CPU);
--batch the frames one model run takes (stylize --batch).
An any-painting model paints --style-image (default ../shared/data/styles/starry_night.jpg).\n`);
  process.exit(0);
}

/** The painting an any-painting model is measured with (the model's speed does not depend on which). */
function benchPaintings(entry: ModelEntry): { paintings: PaintingsRequest } | Record<string, never> {
  const arbitrary = entry.manifest?.arbitrary;
  if (!arbitrary) return {};
  const painting = args['style-image'] ?? SHARED_PAINTING;
  if (!existsSync(painting)) throw new StylecastError('USAGE', `${entry.id} paints any painting: give one with --style-image`);
  return { paintings: { paths: [painting], blend: 0.5, strength: 1, shortSide: arbitrary.paintingSize } };
}

function pixelGraph(): boolean {
  if (args['frame-io'] !== 'pixels' && args['frame-io'] !== 'float') throw new StylecastError('USAGE', `--frame-io takes pixels or float, not "${args['frame-io']}"`);
  return args['frame-io'] === 'pixels';
}

const fmt = (fps: number) => `${fps.toFixed(2)} fps`.padEnd(12);

/** CPU seconds of this process's exited, reaped children (ffmpeg), from /proc (Linux; clock ticks of 1/100 s); null elsewhere. */
function childrenCpuSeconds(): number | null {
  try {
    // Fields after the command name (which may hold spaces): cutime and cstime are the 14th and 15th.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

async function modelOnly(modelPath: string, width: number, height: number, frames: number, device: ReturnType<typeof parseDevice>, threads: number) {
  const engine = await StyleEngine.open({ modelPath, device, threads, lanes: Number(args.lanes), batch: Number(args.batch), pixelGraph: pixelGraph() });
  try {
    // One frame in flight per lane, as the file pipeline keeps them busy; with batches, two batches' worth per lane.
    const inFlight = engine.batch > 1 ? 2 * engine.batch * engine.laneCount : engine.laneCount;
    const buffers = Array.from({ length: inFlight }, () => ({
      input: new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 251),
      output: new Uint8Array(width * height * 3),
    }));
    const runFrames = (count: number) =>
      Promise.all(buffers.map(async (slot, lane) => {
        for (let i = lane; i < count; i += buffers.length) {
          Object.assign(slot, await engine.run({ width, height, input: slot.input, inputChannels: 3, output: slot.output, outputChannels: 3 }));
        }
      }));
    await runFrames(buffers.length); // warm-up
    const started = performance.now();
    await runFrames(frames);
    const seconds = (performance.now() - started) / 1000;
    const frameIo = engine.frameIo.kind === 'pixels' ? '8-bit pixels' : `float tensors (${engine.frameIo.reason})`;
    return { fps: frames / seconds, provider: engine.provider, ortVersion: engine.runtimeVersion, lanes: engine.laneCount, threadsPerLane: engine.threadsPerLane, batch: engine.batch, frameIo };
  } finally {
    await engine.close();
  }
}

async function ffmpegOnly(input: string, width: number, height: number, fps: { num: number; den: number }, frames: number, dir: string) {
  const decoder = new VideoDecoder({ input, size: { width, height }, fps, maxFrames: frames });
  const encoder = new VideoEncoder({ output: join(dir, 'ffmpeg-only.mp4'), size: { width, height }, fps, audioSource: null, audioCodec: null });
  const gate = new CreditGate(4);
  const started = performance.now();
  let count = 0;
  try {
    await lastValueFrom(
      decodeStage(decoder, gate).pipe(
        encodeStage((data) => encoder.write(data).then(() => void count++), gate),
      ),
      { defaultValue: null },
    );
    await encoder.finish();
  } finally {
    await encoder.abort();
    await decoder.close();
  }
  return { fps: count / ((performance.now() - started) / 1000), frames: count };
}

async function torchEager(network: Record<string, unknown> | undefined, width: number, height: number, threads: number) {
  if (!network || network.arch !== 'reconet') return { skipped: 'the model manifest does not describe a ReCoNet' };
  if (network.channels) return { skipped: 'pruned network: trainer speed builds only uniform-width ReCoNets' };
  if (!existsSync('/usr/bin/python3')) return { skipped: '/usr/bin/python3 not found' };
  try {
    const { stdout } = await exec('/usr/bin/python3', [
      '-m', 'trainer', 'speed', '--net-width', String(network.width), '--blocks', String(network.blocks),
      '--width', String(width), '--height', String(height), '--frames', '8', '--threads', String(threads),
    ], { cwd: ROOT });
    const line = stdout.trim().split('\n').at(-1)!;
    return JSON.parse(line) as { fps: number; torch: string };
  } catch (error) {
    return { skipped: `PyTorch not available (${describeError(error)})` };
  }
}

async function recordSpeed(
  manifestPath: string | null, fps: number, size: { width: number; height: number }, provider: string, how: string,
): Promise<void> {
  if (!manifestPath || provider !== 'cpu' || size.width !== 640 || size.height !== 360) {
    process.stdout.write('(--record: needs a model with a manifest, the CPU provider and 640x360; nothing written)\n');
    return;
  }
  await updateManifest(manifestPath, (manifest) => {
    manifest.metrics = {
      ...(manifest.metrics as Record<string, unknown> | undefined),
      cpu_fps_640x360: Number(fps.toFixed(2)), cpu_fps_machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}`,
      // A note left by an earlier recording would describe another hour's figure.
      cpu_fps_note: `recorded ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by bench --record: model only, ${how}`,
    };
  });
  process.stdout.write(`recorded ${fps.toFixed(2)} fps in ${manifestPath}\n`);
}

async function variantsTable(input: string): Promise<void> {
  const registry = await ModelRegistry.load();
  const source = await probeMedia(input);
  const out = resolveSize(source, parseSizeRequest(args.size, undefined));
  const device = parseDevice(args.device!);
  const threads = Number(args.threads);
  const dir = await mkdtemp(join(tmpdir(), 'stylecast-bench-'));
  process.stdout.write(`stylecast bench --variants: clip ${input}, output ${out.width}x${out.height}, device ${args.device}, ${cpus().length} cores\n`);
  process.stdout.write('model                     variant     model size  model-only fps  end-to-end fps  speed-up (e2e vs full)\n');
  try {
    for (const base of registry.listed()) {
      let fullE2e: number | null = null;
      for (const entry of [base, ...registry.variantsOf(base.id)]) {
        if (entry.manifest?.variant === 'fp16' && device === 'cpu') continue; // a GPU variant
        const scale = entry.manifest?.runtime?.modelScale ?? 1;
        const modelSize = modelSizeFor(out, scale);
        const m = await modelOnly(entry.onnxPath, modelSize.width, modelSize.height, Number(args['model-frames']), device, threads);
        const e = await transcodeFile({
          input, output: join(dir, `${entry.id}.mp4`), modelPath: entry.onnxPath, size: { kind: 'exact', ...out }, device, threads, lanes: Number(args.lanes), batch: Number(args.batch),
          modelScale: scale, maxFrames: Number(args['e2e-frames']), overwrite: true, ...benchPaintings(entry),
        });
        fullE2e ??= e.fps;
        process.stdout.write(
          `${entry.id.padEnd(26)}${(entry.manifest?.variant ?? 'quality').padEnd(12)}${`${modelSize.width}x${modelSize.height}`.padEnd(12)}` +
            `${m.fps.toFixed(2).padStart(14)}  ${e.fps.toFixed(2).padStart(14)}  ${(e.fps / fullE2e).toFixed(2).padStart(8)}x\n`,
        );
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (args.variants) {
    const input = args.input ?? (existsSync(SHARED_CLIP) ? SHARED_CLIP : join(ROOT, 'samples', 'sample.mp4'));
    return variantsTable(input);
  }
  const registry = await ModelRegistry.load();
  const style = await registry.resolve(args.style);
  const input = args.input ?? (existsSync(SHARED_CLIP) ? SHARED_CLIP : join(ROOT, 'samples', 'sample.mp4'));
  const source = await probeMedia(input);
  const size = resolveSize(source, parseSizeRequest(args.size, undefined));
  // A fast variant runs at a fraction of the output size: measure it there.
  const modelScale = style.manifest?.runtime?.modelScale ?? 1;
  const modelSize = modelSizeFor(size, modelScale);
  const device = parseDevice(args.device!);
  const threads = Number(args.threads);
  const cores = cpus().length;
  const effectiveThreads = threads || cores;
  const fps = { num: source.fpsNum, den: source.fpsDen };
  const net = style.manifest?.network;
  process.stdout.write(
    `stylecast bench: clip ${input} at ${size.width}x${size.height}; model ${style.id} ` +
      `(${!net ? 'unknown network' : net.arch === 'reconet' ? `reconet width ${String(net.width)}, ${String(net.blocks)} blocks` : `${String(net.arch)}, ${String(net.parameters)} parameters`})` +
      `${modelScale < 1 ? `, model at ${modelSize.width}x${modelSize.height}` : ''}; ${cores} cores\n`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'stylecast-bench-'));
  try {
    const model = await modelOnly(style.onnxPath, modelSize.width, modelSize.height, Number(args['model-frames']), device, threads);
    const lanes = `${model.lanes > 1 ? `${model.lanes} lanes x ${model.threadsPerLane} threads` : `${effectiveThreads} threads`}${model.batch > 1 ? `, ${model.batch} frames a run` : ''}`;
    process.stdout.write(`model-only   (ORT ${model.ortVersion}, ${model.provider}, ${lanes}, frames as ${model.frameIo}): ${fmt(model.fps)}\n`);
    if (args.record) await recordSpeed(style.manifestPath, model.fps, size, model.provider, lanes);
    const ff = await ffmpegOnly(input, size.width, size.height, fps, Number(args['ffmpeg-frames']), dir);
    process.stdout.write(`ffmpeg-only  (decode -> Node -> encode, no model):   ${fmt(ff.fps)} (${ff.frames} frames)\n`);
    const engine = await StyleEngine.open({ modelPath: style.onnxPath, device, threads, lanes: Number(args.lanes), batch: Number(args.batch), pixelGraph: pixelGraph() });
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const childrenBefore = childrenCpuSeconds();
    const e2e = await transcodeFile({
      input, output: join(dir, 'e2e.mp4'), modelPath: style.onnxPath, size: { kind: 'exact', ...size }, device, threads, lanes: Number(args.lanes), batch: Number(args.batch),
      modelScale: modelScale, maxFrames: Number(args['e2e-frames']), overwrite: true, ...benchPaintings(style), engine,
      onStart: (start) => process.stdout.write(`video codecs: ${start.codecs.reasons.join('; ')}\n`),
    }).finally(() => engine.close());
    const cpu = process.cpuUsage(cpuBefore);
    const loop = performance.eventLoopUtilization(loopBefore);
    const childrenAfter = childrenCpuSeconds();
    process.stdout.write(`end-to-end   (stylize, ${e2e.frames} frames):                ${fmt(e2e.fps)} mean flicker ${e2e.meanFlicker?.toFixed(2) ?? 'n/a'}\n`);
    const perFrame = (ms: number) => `${(ms / Math.max(e2e.frames, 1)).toFixed(1)} ms`;
    process.stdout.write(
      `  per frame: wall ${perFrame(e2e.seconds * 1000)}, CPU of this process ${perFrame((cpu.user + cpu.system) / 1000)} ` +
        `(main thread busy ${perFrame(loop.active)}; inference ${e2e.meanInferenceMs.toFixed(1)} ms), ` +
        `ffmpeg ${childrenBefore === null || childrenAfter === null ? 'n/a' : perFrame((childrenAfter - childrenBefore) * 1000)}\n`,
    );
    const bound = Math.min(model.fps, ff.fps);
    process.stdout.write(`ratio end-to-end / min(model-only, ffmpeg-only) = ${(e2e.fps / bound).toFixed(3)} (goal >= 0.9)\n`);
    if (!args['no-torch'] && device !== 'cuda') {
      const torch = await torchEager(net, modelSize.width, modelSize.height, effectiveThreads);
      if ('skipped' in torch) process.stdout.write(`PyTorch eager: skipped (${torch.skipped})\n`);
      else {
        process.stdout.write(`PyTorch eager ${torch.torch} (same network, ${effectiveThreads} threads):  ${fmt(torch.fps)}\n`);
        process.stdout.write(`ratio ORT model-only / PyTorch eager = ${(model.fps / torch.fps).toFixed(2)}x (goal >= 3x)\n`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exitCode = 1;
});
