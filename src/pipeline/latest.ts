import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Live backpressure: runs `project` on up to `concurrency` values at once;
 * while all are busy, only the newest arrival is kept and every value it
 * replaces is reported to `onDrop` (stale frames are dropped before
 * inference, never queued). Results come out in arrival order, whichever
 * finishes first. Tears down on unsubscribe: the pending value is released
 * and late results are ignored.
 */
export function latestMap<T, R>(
  project: (value: T) => Promise<R>,
  onDrop: (value: T) => void = () => undefined,
  concurrency = 1,
): OperatorFunction<T, R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  return (source) =>
    new Observable<R>((subscriber) => {
      // Started runs, oldest first; a finished one waits here until those before it are out.
      const running: Array<{ done: boolean; result?: R }> = [];
      let pending: { value: T } | null = null;
      let sourceDone = false;
      let closed = false;

      const flush = (): void => {
        while (running[0]?.done) subscriber.next(running.shift()!.result as R);
      };

      const run = (value: T): void => {
        const slot: { done: boolean; result?: R } = { done: false };
        running.push(slot);
        project(value).then(
          (result) => {
            if (closed) return;
            slot.done = true;
            slot.result = result;
            flush();
            const next = pending;
            pending = null;
            if (next) run(next.value);
            else if (sourceDone && running.length === 0) subscriber.complete();
          },
          (error: unknown) => {
            if (!closed) subscriber.error(error);
          },
        );
      };

      const subscription = source.subscribe({
        next: (value) => {
          if (running.filter((slot) => !slot.done).length < concurrency) return run(value);
          if (pending) onDrop(pending.value);
          pending = { value };
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (running.length === 0 && !pending) subscriber.complete();
        },
      });
      return () => {
        closed = true;
        if (pending) onDrop(pending.value);
        pending = null;
        subscription.unsubscribe();
      };
    });
}
