/**
 * `npm run soak`: the live server left running. Starts `stylecast serve` (a
 * lavfi source) as a child, keeps N WHEP viewers (node-webrtc, in this
 * process) connected, and samples the server's RSS and open fds and the
 * viewers' received frames every --every seconds. After a warm-up it compares
 * the mean RSS of the last three samples with that of the first three (one
 * sample swings ~10% with garbage collection): exits 1 if it grew more than
 * --max-growth (default 5%), the fd count changed, or a viewer stopped receiving.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.js';
import { whepViewer, type WhepViewer } from './whep-viewer.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    viewers: { type: 'string', default: '2' },
    size: { type: 'string', default: '320x180' },
    style: { type: 'string', default: 'candy' },
    preset: { type: 'string', default: 'fast' },
    every: { type: 'string', default: '30' },
    'warmup-seconds': { type: 'string', default: '60' },
    'max-growth': { type: 'string', default: '0.05' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: npm run soak -- [--minutes 10] [--viewers 2] [--size 320x180] [--style candy] [--preset fast] [--every 30] [--warmup-seconds 60] [--max-growth 0.05]\n');
  process.exit(0);
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve', '--port', '0', '--source', `lavfi:testsrc2=size=${args.size}:rate=30`,
    '--size', args.size!, '--style', args.style!, '--preset', args.preset!, '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const viewers: WhepViewer[] = [];
  try {
    const started = Date.now();
    let base: string | undefined;
    while (!(base = /serving (http:\/\/\S+)\//.exec(stderr)?.[1])) {
      if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`server did not start: ${stderr.trim()}`);
      await sleep(200);
    }
    for (let i = 0; i < Number(args.viewers); i++) viewers.push(await whepViewer(base));
    const total = Number(args.minutes) * 60_000;
    const every = Number(args.every) * 1000;
    const warmup = Number(args['warmup-seconds']) * 1000;
    const t0 = Date.now();
    const samples: Array<{ s: number; rss: number; fds: number; frames: number[]; failed: number; fpsOut: number }> = [];
    process.stdout.write('   t(s)  server RSS MB  fds  frames per viewer        fps out  failed\n');
    for (let t = warmup; t <= total; t += every) {
      await sleep(t0 + t - Date.now());
      const stats = (await (await fetch(`${base}/api/stats`)).json()) as { broadcast: { fpsOut: number; failed: number } };
      const sample = { s: Math.round((Date.now() - t0) / 1000), rss: rssMb(child.pid!), fds: fds(child.pid!), frames: viewers.map((v) => v.frames()), failed: stats.broadcast.failed, fpsOut: stats.broadcast.fpsOut };
      samples.push(sample);
      process.stdout.write(`${String(sample.s).padStart(7)}  ${sample.rss.toFixed(1).padStart(13)}  ${String(sample.fds).padStart(3)}  ${sample.frames.join(' / ').padEnd(23)}  ${sample.fpsOut.toFixed(1).padStart(7)}  ${String(sample.failed).padStart(6)}\n`);
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const meanRss = (xs: typeof samples) => xs.reduce((a, x) => a + x.rss, 0) / xs.length;
    const before = meanRss(samples.slice(0, 3));
    const after = meanRss(samples.slice(-3));
    const growth = (after - before) / before;
    const stalled = viewers.some((_v, i) => samples.length > 1 && last.frames[i]! <= samples.at(-2)!.frames[i]!);
    process.stdout.write(`RSS (mean of 3 samples) ${before.toFixed(1)} -> ${after.toFixed(1)} MB (${(growth * 100).toFixed(1)}%), fds ${first.fds} -> ${last.fds}, ` +
      `viewers ${stalled ? 'STALLED' : 'receiving'}, minutes ${args.minutes}, viewers ${args.viewers}, size ${args.size}, style ${args.style} (${args.preset})\n`);
    return growth > Number(args['max-growth']) || last.fds !== first.fds || stalled ? 1 : 0;
  } finally {
    await Promise.all(viewers.map((v) => v.close()));
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exit(1);
});
