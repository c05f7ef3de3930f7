import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
export const TINY = join(FIXTURES, 'tiny.onnx');
export const TINY_B = join(FIXTURES, 'tiny-b.onnx');
export const WRONG_INPUT = join(FIXTURES, 'wrong-input.onnx');

export async function tempDir(prefix = 'stylecast-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface ClipOptions {
  width?: number;
  height?: number;
  seconds?: number;
  fps?: number;
  audio?: boolean;
  /** lavfi video source (default testsrc2: moving content) */
  source?: string;
  extraArgs?: string[];
}

/** A short clip made by ffmpeg's lavfi sources (no external media needed). */
export async function makeClip(path: string, options: ClipOptions = {}): Promise<string> {
  const { width = 160, height = 120, seconds = 1, fps = 30, audio = true, source = 'testsrc2' } = options;
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${source}=size=${width}x${height}:rate=${fps}`];
  if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(seconds));
  const isWebm = path.endsWith('.webm');
  const oddSize = width % 2 !== 0 || height % 2 !== 0; // 4:2:0 cannot hold odd sizes: keep RGB
  args.push(...(oddSize ? ['-c:v', 'libx264rgb'] : ['-c:v', isWebm ? 'libvpx-vp9' : 'libx264', '-pix_fmt', 'yuv420p']));
  if (audio) args.push('-c:a', isWebm ? 'libopus' : 'aac');
  args.push(...(options.extraArgs ?? []), path);
  await exec('ffmpeg', args);
  return path;
}

export interface StreamInfo {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_read_frames?: string;
  duration?: string;
}

/** ffprobe with an exact frame count (decodes the file). */
export async function probe(path: string): Promise<{ streams: StreamInfo[]; format: { duration: string; format_name: string } }> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', '-show_format', path]);
  return JSON.parse(stdout);
}

/** Decodes the first `frames` frames of a file to RGB24 at a given size. */
export async function decodeRgb(path: string, width: number, height: number, frames = 1): Promise<Buffer> {
  const { stdout } = await exec('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', String(frames), '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 1 << 28,
  });
  return stdout;
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / n;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<CliResult>((resolvePromise) => {
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** Processes whose command line mentions `needle` (e.g. a test's temp dir). */
export async function processesMentioning(needle: string): Promise<Array<{ pid: number; cmd: string }>> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) found.push({ pid: Number(name), cmd: cmd.replaceAll('\0', ' ') });
  }
  return found;
}

/** Child processes of a pid (from /proc/<pid>/task/<pid>/children). */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

export async function waitFor<T>(probeFn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probeFn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Files left in a directory (to prove no partial output stays behind). */
export async function listDir(path: string): Promise<string[]> {
  return (await readdir(path)).sort();
}
