import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Live backpressure: runs `project` on one value at a time; while it is busy,
 * only the newest arrival is kept and every value it replaces is reported to
 * `onDrop` (stale frames are dropped before inference, never queued).
 * Tears down on unsubscribe: the pending value is released and late results
 * are ignored.
 */
export function latestMap<T, R>(project: (value: T) => Promise<R>, onDrop: (value: T) => void = () => undefined): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let pending: { value: T } | null = null;
      let sourceDone = false;
      let closed = false;

      const run = (value: T): void => {
        busy = true;
        project(value).then(
          (result) => {
            if (closed) return;
            subscriber.next(result);
            busy = false;
            const next = pending;
            pending = null;
            if (next) run(next.value);
            else if (sourceDone) subscriber.complete();
          },
          (error: unknown) => {
            if (!closed) subscriber.error(error);
          },
        );
      };

      const subscription = source.subscribe({
        next: (value) => {
          if (!busy) return run(value);
          if (pending) onDrop(pending.value);
          pending = { value };
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) subscriber.complete();
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
