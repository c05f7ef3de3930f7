import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

/**
 * Live backpressure: runs `project` on up to `concurrency` values at once;
 * while all are busy, only the newest arrival is kept and every value it
 * replaces is reported to `onDrop` (stale frames are dropped before
 * inference, never queued). Results come out in arrival order, whichever
 * finishes first. `project` gives one result (a promise, or an observable
 * whose first value is taken: marble tests run it on virtual time). Tears down
 * on unsubscribe: the pending value is released and runs still going are
 * unsubscribed, their late results ignored.
 */
export function latestMap<T, R>(
  project: (value: T) => ObservableInput<R>,
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

      const runs = new Set<Subscription>();
      const run = (value: T): void => {
        const slot: { done: boolean; result?: R } = { done: false };
        running.push(slot);
        let settled = false;
        const inner = from(project(value)).subscribe({
          next: (result) => {
            if (closed || settled) return;
            settled = true;
            slot.done = true;
            slot.result = result;
            flush();
            const next = pending;
            pending = null;
            if (next) run(next.value);
            else if (sourceDone && running.length === 0) subscriber.complete();
          },
          error: (error: unknown) => {
            if (!closed) subscriber.error(error);
          },
          complete: () => {
            if (!settled && !closed) subscriber.error(new Error('latestMap: a run completed without a result'));
          },
        });
        if (settled) inner.unsubscribe();
        else runs.add(inner);
        inner.add(() => runs.delete(inner));
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
        for (const inner of [...runs]) inner.unsubscribe();
      };
    });
}
