/**
 * `npm run bench:model`: model-only frames per second of a style and its fp16
 * variant at several sizes, through the same worker-thread engine the pipeline
 * uses, on random frames: no clip and no ffmpeg, so it runs on a bare GPU
 * machine. Prints each figure and its ratio to the first row of its size.
 * With `--lanes` and `--batch` lists it also measures every combination
 * (sessions side by side x frames per run), keeping enough frames in flight
 * to fill them: the grid a GPU's defaults are chosen from.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.js';
import { StyleEngine } from '../models/engine.js';
import { parseDevice } from '../models/providers.js';
import { ModelRegistry, type ModelEntry } from '../models/registry.js';
import { percentile } from '../pipeline/live-stats.js';
import { parseSizeRequest } from '../pipeline/sizing.js';

const { values: args } = parseArgs({
  options: {
    style: { type: 'string', default: 'candy' },
    device: { type: 'string', default: 'auto' },
    sizes: { type: 'string', default: '640x360,1920x1080' },
    frames: { type: 'string', default: '50' },
    threads: { type: 'string', default: '0' },
    lanes: { type: 'string', default: '1' },
    batch: { type: 'string', default: '1' },
    'no-fp16': { type: 'boolean', default: false },
    'pixels-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npm run bench:model -- [--style ID|FILE] [--device auto|cuda|webgpu|cpu] [--sizes 640x360,1920x1080] [--frames N] [--threads N]
       [--lanes 1,2] [--batch 1,4,8] [--no-fp16] [--pixels-only]
The style's fp16 variant is measured beside it unless --no-fp16 or the device is the CPU; each file
twice: frames as 8-bit pixels converted in the graph (what the runtime does), and as float tensors
(not with --pixels-only). Every lanes x batch combination is measured; with more than one frame per
run or one lane, lanes x batch x 2 frames are kept in flight.\n`);
  process.exit(0);
}

interface Row {
  model: string;
  size: string;
  provider: string;
  lanes: number;
  batch: number;
  fps: number;
  meanMs: number;
  p95Ms: number;
}

function wholeNumbers(text: string, what: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${what} takes whole numbers >= 1, e.g. 1,2, not "${text}"`);
  return values;
}

async function measure(entry: ModelEntry, width: number, height: number, frames: number, pixelGraph: boolean, lanes: number, batch: number): Promise<Row> {
  const engine = await StyleEngine.open({ modelPath: entry.onnxPath, device: parseDevice(args.device!), threads: Number(args.threads), lanes, batch, pixelGraph });
  try {
    // One lane, one frame per run: one frame at a time (per-frame latency as well as rate). Otherwise enough in flight to fill every lane's batches.
    const inFlight = lanes * batch > 1 ? lanes * batch * 2 : 1;
    const times: number[] = [];
    let started = 0;
    let done = 0;
    const client = async (warmup: number) => {
      let input: Uint8Array = Uint8Array.from({ length: 3 * width * height }, () => Math.floor(Math.random() * 256));
      let output: Uint8Array = new Uint8Array(3 * width * height);
      const run = async () => {
        // Both buffers are transferred to the worker and come back with the reply.
        const result = await engine.run({ width, height, input, inputChannels: 3, output, outputChannels: 3 });
        ({ input, output } = result);
        return result.ms;
      };
      for (let i = 0; i < warmup; i++) await run();
      return run;
    };
    const runs = await Promise.all(Array.from({ length: inFlight }, () => client(5)));
    const began = performance.now();
    await Promise.all(runs.map(async (run) => {
      while (started < frames) {
        started++;
        times.push(await run());
        done++;
      }
    }));
    const wall = performance.now() - began;
    times.sort((a, b) => a - b);
    return {
      model: `${entry.id}${pixelGraph ? '' : ' (float io)'}`,
      size: `${width}x${height}`,
      provider: engine.provider,
      lanes: engine.laneCount,
      batch: engine.batch,
      fps: (done * 1000) / wall,
      meanMs: times.reduce((a, b) => a + b, 0) / times.length,
      p95Ms: percentile(times, 95)!,
    };
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const registry = await ModelRegistry.load();
  const style = await registry.resolve(args.style);
  const device = parseDevice(args.device!);
  const fp16 = args['no-fp16'] || device === 'cpu' ? [] : registry.variantsOf(style.id).filter((e) => e.manifest?.variant === 'fp16');
  const frames = Number(args.frames);
  const sizes = args.sizes!.split(',').map((text) => parseSizeRequest(text.trim(), undefined));
  const laneCounts = wholeNumbers(args.lanes!, 'lanes');
  const batches = wholeNumbers(args.batch!, 'batch');
  const ios = args['pixels-only'] ? [true] : [true, false];
  process.stdout.write(`stylecast bench:model: ${style.id}${fp16.length ? ` and ${fp16.map((e) => e.id).join(', ')}` : ''}, device ${args.device}, ${frames} random frames each, ${cpus().length} cores\n`);
  process.stdout.write('model                     size        provider  lanes batch fps      ms a frame (mean / p95)  vs first row\n');
  for (const size of sizes) {
    if (size.kind !== 'exact') throw new Error(`--sizes takes WIDTHxHEIGHT, not "${args.sizes}"`);
    let baseline: number | undefined;
    // Each file with frames as 8-bit pixels (the runtime's way), then as float tensors the worker converts.
    for (const [entry, pixelGraph] of [style, ...fp16].flatMap((e) => ios.map((io) => [e, io] as const))) {
      for (const lanes of laneCounts) {
        for (const batch of batches) {
          const row = await measure(entry, size.width, size.height, frames, pixelGraph, lanes, batch);
          baseline ??= row.fps;
          process.stdout.write(
            `${row.model.padEnd(26)}${row.size.padEnd(12)}${row.provider.padEnd(10)}${String(row.lanes).padEnd(6)}${String(row.batch).padEnd(6)}${row.fps.toFixed(1).padEnd(9)}` +
              `${`${row.meanMs.toFixed(2)} / ${row.p95Ms.toFixed(2)}`.padEnd(25)}${(row.fps / baseline).toFixed(2)}x\n`,
          );
        }
      }
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:model: ${describeError(error)}\n`);
  process.exitCode = 1;
});
