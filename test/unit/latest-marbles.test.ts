// Newest-frame-wins (latestMap) on virtual time: each marble frame is a tick,
// the model's run is a cold observable of known length.
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { latestMap } from '../../dist/pipeline/latest.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const upper = { A: 'A', B: 'B', C: 'C', D: 'D' };

describe('latestMap on marbles', () => {
  it('while the model is busy keeps only the newest frame, reports each one it replaces, and completes after the last run', () => {
    const dropped: string[] = [];
    scheduler().run(({ hot, cold, expectObservable }) => {
      const frames = hot('a-b-c-|');
      const out = frames.pipe(latestMap((f: string) => cold('-----(r|)', { r: f.toUpperCase() }), (f) => dropped.push(f)));
      expectObservable(out).toBe('-----A----(C|)', upper);
    });
    expect(dropped).toEqual(['b']);
  });

  it('with no frame arriving while busy, drops nothing', () => {
    const dropped: string[] = [];
    scheduler().run(({ hot, cold, expectObservable }) => {
      const out = hot('a----b----c--|').pipe(latestMap((f: string) => cold('--(r|)', { r: f.toUpperCase() }), (f) => dropped.push(f)));
      expectObservable(out).toBe('--A----B----C|', upper);
    });
    expect(dropped).toEqual([]);
  });

  it('with two lanes runs two frames at once and gives results in arrival order, the quicker one waiting', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const length: Record<string, string> = { a: '----(r|)', b: '-(r|)', c: '--(r|)' };
      const out = hot('ab------c--|').pipe(latestMap((f: string) => cold(length[f]!, { r: f.toUpperCase() }), undefined, 2));
      expectObservable(out).toBe('----(AB)--C|', upper);
    });
  });

  it('unsubscribed mid-run, stops the run it started and releases the frame it held', () => {
    const dropped: string[] = [];
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const run = cold('------(r|)', { r: 'A' });
      const out = hot('a-b-----').pipe(latestMap(() => run, (f) => dropped.push(f)));
      expectObservable(out, '^---!').toBe('-----');
      expectSubscriptions(run.subscriptions).toBe('^---!');
    });
    expect(dropped).toEqual(['b']);
  });

  it('a failed run fails the stream with its error', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const out = hot('a-b-|').pipe(latestMap(() => cold('--#', undefined, new Error('inference failed'))));
      expectObservable(out).toBe('--#', undefined, new Error('inference failed'));
    });
  });
});
