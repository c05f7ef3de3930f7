/**
 * `npm run bench:live`: the live server under load. Starts `stylecast serve`
 * with a lavfi source, attaches N Chromium viewers over WebRTC, and prints
 * sustained fps in/out, added latency p50/p95, dropped frames, the frames each
 * viewer decoded, and the server's CPU (its process and its ffmpeg children).
 * It measures; it never asserts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.js';
import { ModelRegistry } from '../models/registry.js';
import { GLASS_PAGE_SCRIPT } from './glass-page.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLK_TCK = 100;

const { values: args } = parseArgs({
  options: {
    style: { type: 'string' },
    size: { type: 'string', default: '640x360' },
    seconds: { type: 'string', default: '15' },
    viewers: { type: 'string', default: '1,4' },
    preset: { type: 'string', default: 'auto' },
    lanes: { type: 'string', default: '0' },
    'models-dir': { type: 'string' },
    'glass-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write('usage: npm run bench:live -- [--style ID] [--preset auto|fast|quality] [--size 640x360] [--seconds 15] [--viewers 1,4] [--lanes N] [--models-dir DIR] [--glass-only]\n');
  process.exit(0);
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}

function treeTicks(pid: number): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const p of processTree(pid)) {
    try {
      ticks.set(p, cpuTicks(p));
    } catch {
      // exited meanwhile
    }
  }
  return ticks;
}

async function fastestStyle(): Promise<string> {
  const registry = await ModelRegistry.load([...(args['models-dir'] ? [args['models-dir']] : []), join(ROOT, 'models')]);
  const scored = registry.listed().map((e) => ({ id: e.id, fps: Number(e.manifest?.metrics?.cpu_fps_640x360 ?? 0), params: Number(e.manifest?.network?.parameters ?? Infinity) }));
  scored.sort((a, b) => b.fps - a.fps || a.params - b.params);
  if (!scored[0]) throw new Error('no models installed');
  return scored[0].id;
}

async function run(viewers: number, style: string): Promise<void> {
  await withServerAndBrowser(style, `lavfi:testsrc2=size=${args.size}:rate=30`, async (url, context, serverPid) => {
    const pages: Array<import('playwright-core').Page> = [];
    for (let i = 0; i < viewers; i++) {
      const page = await context.newPage();
      await page.goto(`${url}/obs`);
      await page.waitForFunction('window.stylecast.state.frames.output > 0', undefined, { timeout: 60_000 });
      pages.push(page);
    }
    const decoded = () => Promise.all(pages.map((p) => p.evaluate('window.stylecast.decodedFrames()') as Promise<number>));
    const stats = async () => ((await (await fetch(`${url}/api/stats`)).json()) as { broadcast: Record<string, number> }).broadcast;
    await new Promise((r) => setTimeout(r, 3000)); // warm-up
    const seconds = Number(args.seconds);
    const [s0, d0, t0, c0] = [await stats(), await decoded(), performance.now(), treeTicks(serverPid)];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [s1, d1, t1, c1] = [await stats(), await decoded(), performance.now(), treeTicks(serverPid)];
    const dt = (t1 - t0) / 1000;
    let ticks = 0;
    for (const [pid, after] of c1) ticks += after - (c0.get(pid) ?? after);
    const perViewer = d1.map((d, i) => ((d - d0[i]!) / dt).toFixed(1)).join(' / ');
    const f = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
    process.stdout.write(
      `${String(viewers).padStart(7)}  ${f((s1.framesIn! - s0.framesIn!) / dt).padStart(6)}  ${f((s1.framesOut! - s0.framesOut!) / dt).padStart(7)}  ` +
        `${f(s1.latencyP50Ms, 0).padStart(7)}  ${f(s1.latencyP95Ms, 0).padStart(7)}  ${String(s1.dropped! - s0.dropped!).padStart(7)}  ` +
        `${f(s1.inferenceMs, 0).padStart(8)}  ${f((100 * ticks) / CLK_TCK / dt, 0).padStart(7)}%  ${perViewer}\n`,
    );
  });
}

/** A served stylecast for one measurement; closed with its Chromium by the callback's end. */
async function withServerAndBrowser(
  style: string, source: string,
  body: (url: string, context: import('playwright-core').BrowserContext, serverPid: number) => Promise<void>,
): Promise<void> {
  const { chromium } = await import('playwright-core');
  const server = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--style', style, '--preset', args.preset!, '--lanes', args.lanes!,
    '--size', args.size!, '--source', source, ...(args['models-dir'] ? ['--models-dir', args['models-dir']] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const profile = mkdtempSync(join(tmpdir(), 'stylecast-bench-chromium-'));
  try {
    const started = performance.now();
    let url: string | undefined;
    while (!(url = /serving (http:\/\/\S+)\//.exec(stderr)?.[1])) {
      if (performance.now() - started > 30_000 || server.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium', headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'],
    });
    await context.addInitScript(GLASS_PAGE_SCRIPT);
    try {
      await body(url, context, server.pid!);
    } finally {
      await context.close();
    }
  } finally {
    server.kill('SIGINT');
    await new Promise((r) => server.once('close', r));
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Glass-to-glass: the time drawn on a canvas camera, read back from what the page shows. */
async function glass(style: string): Promise<void> {
  const seconds = Number(args.seconds);
  const collect = async (page: import('playwright-core').Page, what: string) => {
    await page.waitForFunction('window.__glass.samples.length > 10', undefined, { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 3000)); // warm-up
    await page.evaluate('window.__glass.samples.length = 0');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const samples = ((await page.evaluate('window.__glass.samples.slice()')) as number[]).sort((a, b) => a - b);
    const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))];
    process.stdout.write(`${what.padEnd(44)}  ${String(at(50)).padStart(7)}  ${String(at(95)).padStart(7)}  ${String(samples.length).padStart(7)}  ${(samples.length / seconds).toFixed(1).padStart(6)}\n`);
  };
  process.stdout.write(`\nglass-to-glass (ms), ${seconds} s each      p50      p95  frames  fps shown\n`);
  await withServerAndBrowser(style, 'browser', async (url, context) => {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.evaluate('window.stylecast.ready');
    await page.evaluate("window.stylecast.start('camera')");
    await page.evaluate("window.__glassRead(document.getElementById('output'))");
    await collect(page, 'camera round trip (page -> server -> page)');
    const local = await context.newPage();
    await local.goto(`${url}/`);
    await local.evaluate("(async () => { const v = document.getElementById('input'); v.srcObject = await navigator.mediaDevices.getUserMedia({ video: true }); await v.play(); window.__glassRead(v); })()");
    await collect(local, 'baseline: the camera shown locally (no server)');
  });
  await withServerAndBrowser(style, 'browser', async (url, context) => {
    const publisher = await context.newPage();
    await publisher.goto(`${url}/`);
    await publisher.evaluate('window.__glassPublish()');
    const viewer = await context.newPage();
    await viewer.goto(`${url}/obs`);
    await viewer.evaluate("window.__glassRead(document.getElementById('output'))");
    await collect(viewer, 'broadcast (WHIP in -> WebRTC viewer)');
  });
  process.stdout.write('(time drawn as 20 black/white blocks on the camera picture, read back at each shown frame; one clock: the same browser)\n');
}

async function main(): Promise<void> {
  const style = args.style ?? (await fastestStyle());
  if (args['glass-only']) return glass(style);
  process.stdout.write(`stylecast live bench: source lavfi testsrc2 ${args.size}@30, style ${style}, preset ${args.preset}, ${args.seconds} s per run, ${readdirSync('/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n)).length} cores\n`);
  process.stdout.write('viewers  fps in  fps out  lat p50  lat p95  dropped  infer ms  server CPU  fps decoded per viewer\n');
  for (const n of args.viewers!.split(',').map(Number)) await run(n, style);
  process.stdout.write('(latency: frame received -> stylized frame handed to WebRTC; CPU: server process + its ffmpeg children, 100% = one core)\n');
  await glass(style);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`error: ${describeError(error)}\n`);
    process.exit(1);
  },
);
