/**
 * `npm run bench:model`: model-only frames per second of a style and its fp16
 * variant at several sizes, through the same worker-thread engine the pipeline
 * uses, on random frames: no clip and no ffmpeg, so it runs on a bare GPU
 * machine. Prints each figure and its ratio to the first row of its size.
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
    'no-fp16': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npm run bench:model -- [--style ID|FILE] [--device auto|cuda|webgpu|cpu] [--sizes 640x360,1920x1080] [--frames N] [--threads N] [--no-fp16]
The style's fp16 variant is measured beside it unless --no-fp16 or the device is the CPU; each file
twice: frames as 8-bit pixels converted in the graph (what the runtime does), and as float tensors.\n`);
  process.exit(0);
}

interface Row {
  model: string;
  size: string;
  provider: string;
  fps: number;
  meanMs: number;
  p95Ms: number;
}

async function measure(entry: ModelEntry, width: number, height: number, frames: number, pixelGraph: boolean): Promise<Row> {
  // One session, one frame at a time: per-frame latency as well as rate.
  const engine = await StyleEngine.open({ modelPath: entry.onnxPath, device: parseDevice(args.device!), threads: Number(args.threads), lanes: 1, pixelGraph });
  try {
    let input: Uint8Array = Uint8Array.from({ length: 3 * width * height }, () => Math.floor(Math.random() * 256));
    let output: Uint8Array = new Uint8Array(3 * width * height);
    const times: number[] = [];
    const run = async () => {
      // Both buffers are transferred to the worker and come back with the reply.
      const result = await engine.run({ width, height, input, inputChannels: 3, output, outputChannels: 3 });
      ({ input, output } = result);
      return result.ms;
    };
    for (let i = 0; i < 5; i++) await run();
    const started = performance.now();
    for (let i = 0; i < frames; i++) times.push(await run());
    const wall = performance.now() - started;
    times.sort((a, b) => a - b);
    return {
      model: `${entry.id}${pixelGraph ? '' : ' (float io)'}`,
      size: `${width}x${height}`,
      provider: engine.provider,
      fps: (frames * 1000) / wall,
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
  process.stdout.write(`stylecast bench:model: ${style.id}${fp16.length ? ` and ${fp16.map((e) => e.id).join(', ')}` : ''}, device ${args.device}, ${frames} random frames each, ${cpus().length} cores\n`);
  process.stdout.write('model                     size        provider  fps      model ms (mean / p95)  vs first row\n');
  for (const size of sizes) {
    if (size.kind !== 'exact') throw new Error(`--sizes takes WIDTHxHEIGHT, not "${args.sizes}"`);
    let baseline: number | undefined;
    // Each file with frames as 8-bit pixels (the runtime's way), then as float tensors the worker converts.
    for (const [entry, pixelGraph] of [style, ...fp16].flatMap((e) => [[e, true], [e, false]] as const)) {
      const row = await measure(entry, size.width, size.height, frames, pixelGraph);
      baseline ??= row.fps;
      process.stdout.write(
        `${row.model.padEnd(26)}${row.size.padEnd(12)}${row.provider.padEnd(10)}${row.fps.toFixed(1).padEnd(9)}` +
          `${`${row.meanMs.toFixed(2)} / ${row.p95Ms.toFixed(2)}`.padEnd(23)}${(row.fps / baseline).toFixed(2)}x\n`,
      );
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:model: ${describeError(error)}\n`);
  process.exitCode = 1;
});
