/**
 * `npm run bench:fanout`: what each viewer costs the stylizing host, served
 * directly (WHEP) or through Janus (`--janus`). Starts Debian's Janus and
 * `stylecast serve --janus` as children, then for each viewer count connects
 * that many node-webrtc viewers (in this process) either way and samples, over
 * a window, the CPU of the stylecast process and of Janus (from /proc) and the
 * frames each viewer received. Prints a table and the CPU per added viewer.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.js';
import { JanusViewer } from './janus-viewer.js';
import { startJanus } from './janus-process.js';
import { whepViewer } from './whep-viewer.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '1,2,4,8' },
    size: { type: 'string', default: '640x360' },
    style: { type: 'string', default: 'candy' },
    preset: { type: 'string', default: 'fast' },
    seconds: { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: npm run bench:fanout -- [--viewers 1,2,4,8] [--size 640x360] [--style candy] [--preset fast] [--seconds 10]\n');
  process.exit(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICKS = 100; // clock ticks per second on Linux (getconf CLK_TCK)
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
};

interface Viewer { readonly frames: () => number; readonly close: () => Promise<void> | void }

async function janusViewer(url: string, room: number): Promise<Viewer> {
  const viewer = await JanusViewer.open(url, room);
  return { frames: () => viewer.frames, close: () => viewer.close() };
}

interface Sample { mode: string; viewers: number; hostCpu: number; janusCpu: number; fps: number }

async function measure(mode: string, viewers: Viewer[], hostPid: number, janusPid: number, seconds: number): Promise<Sample> {
  await sleep(3000); // let the connections settle
  const before = { host: cpuSeconds(hostPid), janus: cpuSeconds(janusPid), frames: viewers.map((v) => v.frames()), t: performance.now() };
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - before.t) / 1000;
  const fps = viewers.length ? viewers.reduce((sum, v, i) => sum + (v.frames() - before.frames[i]!), 0) / viewers.length / elapsed : 0;
  return {
    mode, viewers: viewers.length, fps,
    hostCpu: (100 * (cpuSeconds(hostPid) - before.host)) / elapsed,
    janusCpu: (100 * (cpuSeconds(janusPid) - before.janus)) / elapsed,
  };
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx ? points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx : 0;
}

async function main(): Promise<void> {
  const counts = args.viewers!.split(',').map(Number);
  const seconds = Number(args.seconds);
  const dir = await mkdtemp(join(tmpdir(), 'stylecast-fanout-'));
  const janus = await startJanus(dir);
  const room = 1000;
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve', '--port', '0', '--source', `lavfi:testsrc2=size=${args.size}:rate=30`,
    '--size', args.size!, '--style', args.style!, '--preset', args.preset!, '--janus', janus.url, '--janus-room', String(room)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  try {
    const started = Date.now();
    let base: string | undefined;
    while (!(base = /serving (http:\/\/\S+)\//.exec(stderr)?.[1])) {
      if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`server did not start: ${stderr.trim()}`);
      await sleep(200);
    }
    process.stdout.write(`stylecast bench:fanout: ${args.size} ${args.style} (${args.preset}), ${cpus().length} cores, ${seconds} s windows; CPU in % of one core\n`);
    process.stdout.write('mode      viewers  stylecast CPU  janus CPU  fps per viewer\n');
    const samples: Sample[] = [];
    const print = (s: Sample) => process.stdout.write(`${s.mode.padEnd(8)}  ${String(s.viewers).padStart(7)}  ${s.hostCpu.toFixed(1).padStart(13)}  ${s.janusCpu.toFixed(1).padStart(9)}  ${s.fps.toFixed(1).padStart(14)}\n`);
    for (const mode of ['direct', 'janus'] as const) {
      for (const n of [0, ...counts]) {
        const viewers: Viewer[] = [];
        try {
          for (let i = 0; i < n; i++) viewers.push(mode === 'direct' ? await whepViewer(base) : await janusViewer(janus.url, room));
          const sample = await measure(mode, viewers, child.pid!, janus.child.pid!, seconds);
          samples.push(sample);
          print(sample);
        } finally {
          await Promise.all(viewers.map((v) => v.close()));
        }
      }
    }
    for (const mode of ['direct', 'janus']) {
      const points = samples.filter((s) => s.mode === mode).map((s): [number, number] => [s.viewers, s.hostCpu]);
      const perViewer = slope(points);
      const janusPer = slope(samples.filter((s) => s.mode === mode).map((s): [number, number] => [s.viewers, s.janusCpu]));
      process.stdout.write(`${mode}: stylecast CPU per added viewer ${perViewer.toFixed(2)}% of a core` +
        `${perViewer > 0.05 ? ` (about ${Math.floor(100 / perViewer)} viewers per core)` : ' (flat: the host does not see them)'}` +
        `${mode === 'janus' ? `; Janus ${janusPer.toFixed(2)}% per viewer (about ${janusPer > 0.05 ? Math.floor(100 / janusPer) : 'n/a'} per Janus core)` : ''}\n`);
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await janus.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// node-webrtc keeps the event loop alive after its peers close: leave explicitly.
main().then(() => process.exit(0), (error: unknown) => {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exit(1);
});
