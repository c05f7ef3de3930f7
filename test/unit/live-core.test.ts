import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { latestMap } from '../../dist/pipeline/latest.js';
import { LiveStats, percentile } from '../../dist/pipeline/live-stats.js';
import { describeSource, networkInputArgs, parseSourceSpec, decoderOptionsFor } from '../../dist/pipeline/sources.js';
import { Mp4Segmenter } from '../../dist/transport/fmp4/mp4.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('latestMap (drop stale frames before inference)', () => {
  it('keeps only the newest value while busy and counts the dropped ones', async () => {
    const source = new Subject<number>();
    const gates = new Map<number, ReturnType<typeof deferred<void>>>();
    const dropped: number[] = [];
    const done = lastValueFrom(
      source.pipe(
        latestMap(async (n) => {
          const gate = deferred<void>();
          gates.set(n, gate);
          await gate.promise;
          return n * 10;
        }, (n) => dropped.push(n)),
        toArray(),
      ),
    );
    source.next(1); // starts at once
    source.next(2); // waits
    source.next(3); // replaces 2
    source.next(4); // replaces 3
    gates.get(1)!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    source.complete();
    gates.get(4)!.resolve();
    expect(await done).toEqual([10, 40]);
    expect(dropped).toEqual([2, 3]);
  });

  it('with two lanes: two run at once, results leave in arrival order, and only then do frames wait and drop', async () => {
    const source = new Subject<number>();
    const gates = new Map<number, ReturnType<typeof deferred<void>>>();
    const started: number[] = [];
    const dropped: number[] = [];
    const seen: number[] = [];
    let completed = false;
    source
      .pipe(latestMap(async (n) => {
        started.push(n);
        const gate = deferred<void>();
        gates.set(n, gate);
        await gate.promise;
        return n * 10;
      }, (n) => dropped.push(n), 2))
      .subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    const tick = () => new Promise((r) => setTimeout(r, 0));
    source.next(1);
    source.next(2); // second lane
    source.next(3); // waits
    source.next(4); // replaces 3
    expect(started).toEqual([1, 2]);
    gates.get(2)!.resolve(); // 2 finishes first: held back behind 1, and its lane takes 4
    await tick();
    expect(seen).toEqual([]);
    expect(started).toEqual([1, 2, 4]);
    gates.get(1)!.resolve();
    await tick();
    expect(seen).toEqual([10, 20]);
    source.complete();
    expect(completed).toBe(false); // 4 still running
    gates.get(4)!.resolve();
    await tick();
    expect(seen).toEqual([10, 20, 40]);
    expect(dropped).toEqual([3]);
    expect(completed).toBe(true);
    expect(() => latestMap(async (n: number) => n, undefined, 0)).toThrow(/concurrency/);
  });

  it('tears down: results arriving after unsubscribe are ignored and the pending value is released', async () => {
    const source = new Subject<number>();
    const gate = deferred<void>();
    const seen: number[] = [];
    const dropped: number[] = [];
    const sub = source.pipe(latestMap(async (n) => { await gate.promise; return n; }, (n) => dropped.push(n))).subscribe((v) => seen.push(v));
    source.next(1);
    source.next(2);
    sub.unsubscribe();
    expect(source.observed).toBe(false);
    gate.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([]);
    expect(dropped).toEqual([2]);
  });
});

describe('LiveStats', () => {
  it('reports fps over the window, latency percentiles and drops', () => {
    const stats = new LiveStats(1000);
    for (let i = 0; i < 30; i++) stats.frameIn(i * 33);
    for (let i = 0; i < 20; i++) stats.frameOut(i * 50, i + 1, 10, i % 2 ? 2 : null);
    stats.frameDropped();
    const s = stats.snapshot(999);
    expect(s.fpsIn).toBe(30);
    expect(s.fpsOut).toBe(20);
    expect(s.latencyP50Ms).toBe(10);
    expect(s.latencyP95Ms).toBe(19);
    expect(s.dropped).toBe(1);
    expect(s.flicker).toBe(2);
    expect(stats.snapshot(5000).fpsIn).toBe(0);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('live sources', () => {
  it('parses source specs', () => {
    expect(parseSourceSpec('browser')).toEqual({ kind: 'browser' });
    expect(parseSourceSpec('file:/tmp/a b.mp4')).toEqual({ kind: 'file', path: '/tmp/a b.mp4' });
    expect(parseSourceSpec('v4l2:/dev/video0')).toEqual({ kind: 'v4l2', device: '/dev/video0' });
    expect(parseSourceSpec('lavfi:testsrc2=size=640x360:rate=30')).toEqual({ kind: 'lavfi', graph: 'testsrc2=size=640x360:rate=30' });
    expect(() => parseSourceSpec('ftp://cam')).toThrow(/unknown source "ftp:\/\/cam"/);
    expect(parseSourceSpec('srt://0.0.0.0:9000?mode=listener')).toEqual({ kind: 'url', url: 'srt://0.0.0.0:9000?mode=listener', listen: false });
    expect(parseSourceSpec('rtmp://0.0.0.0:1935/live/key?listen')).toEqual({ kind: 'url', url: 'rtmp://0.0.0.0:1935/live/key', listen: true });
    const rtsp = parseSourceSpec('rtsp://user:secret@cam.local/stream');
    expect(describeSource(rtsp)).toBe('rtsp://***@cam.local/stream'); // no password in logs or the page
    expect(decoderOptionsFor(rtsp as any, { width: 64, height: 36 }, 30).inputArgs).toEqual(['-fflags', 'nobuffer', '-flags', 'low_delay', '-rtsp_transport', 'tcp', '-rw_timeout', '10000000']);
    expect(networkInputArgs('rtmp://0.0.0.0:1935/live/key', true)).toEqual(['-listen', '1', '-fflags', 'nobuffer', '-flags', 'low_delay']);
    expect(networkInputArgs('https://example.com/live.m3u8', false)).toContain('-reconnect_streamed');
    const file = decoderOptionsFor({ kind: 'file', path: 'a.mp4' }, { width: 64, height: 36 }, 30);
    expect(file.inputArgs).toEqual(['-stream_loop', '-1']);
    expect(file.realtime).toBe(true);
  });
});

describe('fMP4 segmenter', () => {
  it('finds the init segment and a keyframe at every GOP start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp4-'));
    try {
      const file = join(dir, 'f.mp4');
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast',
        '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '33333', '-f', 'mp4', file]);
      const bytes = readFileSync(file);
      const segmenter = new Mp4Segmenter();
      const segments = [];
      for (let i = 0; i < bytes.length; i += 777) segments.push(...segmenter.push(bytes.subarray(i, i + 777)));
      expect(segments[0]!.kind).toBe('init');
      const fragments = segments.slice(1);
      expect(fragments).toHaveLength(60);
      const keyframes = fragments.map((f, i) => (f.keyframe ? i : -1)).filter((i) => i >= 0);
      expect(keyframes).toEqual([0, 15, 30, 45]);
      // Everything but a file's trailing index (mfra) comes out.
      const used = Buffer.concat(segments.map((s) => s.data)).length;
      expect(bytes.toString('latin1', used + 4, used + 8)).toBe('mfra');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a corrupt box size', () => {
    expect(() => new Mp4Segmenter().push(Buffer.from([0, 0, 0, 3, 0x6d, 0x6f, 0x6f, 0x66]))).toThrow(/invalid MP4 box size/);
  });
});
