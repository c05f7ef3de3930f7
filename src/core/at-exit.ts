/**
 * Synchronous clean-ups that must run however the process ends (process.exit,
 * a handled signal, an uncaught error): killing children, removing private
 * temporary files. Returns a function that unregisters the clean-up.
 */
const cleanups = new Set<() => void>();
let installed = false;

export function atExit(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', () => {
      for (const run of cleanups) {
        try {
          run();
        } catch {
          // one failed clean-up must not skip the others
        }
      }
    });
  }
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}
