/** How long to wait before retrying something that failed: 1 s, 2 s, 5 s, 10 s, then 30 s. */
const RETRY_SCHEDULE_MS = [1000, 2000, 5000, 10_000, 30_000] as const;

/**
 * The delay before retry number `failures` (0 for the first retry), at most `capMs`:
 * a local source restarts within 10 s, a remote server is not asked more than
 * twice a minute. One schedule for every retry in the server (sources, push
 * outputs, Janus), so a log line reads the same wherever it comes from.
 */
export function retryDelayMs(failures: number, capMs = 30_000): number {
  const index = Math.max(0, Math.min(Math.floor(failures), RETRY_SCHEDULE_MS.length - 1));
  return Math.min(capMs, RETRY_SCHEDULE_MS[index]!);
}
