import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The tests import dist/ (the code users run). A source newer than the build
 * would let a stale build pass: refuse to run instead (`npm test` builds first).
 */
export default function checkBuildIsFresh(): void {
  const root = join(import.meta.dirname, '..', '..');
  const newest = (dir: string): { file: string; mtime: number } => {
    let best = { file: '', mtime: 0 };
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const candidate = entry.isDirectory() ? newest(path) : path.endsWith('.ts') ? { file: path, mtime: statSync(path).mtimeMs } : best;
      if (candidate.mtime > best.mtime) best = candidate;
    }
    return best;
  };
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    throw new Error('dist/ is missing: run `npm run build` (npm test builds first)');
  }
  const source = newest(join(root, 'src'));
  if (source.mtime > built) throw new Error(`dist/ is older than ${source.file}: run \`npm run build\` (npm test builds first)`);
}
