// Imports must point one way: cli/bench -> transport -> pipeline -> models, media -> core.
// Only src/models/ort/runtime.ts may import onnxruntime-node.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');
const RANK = { core: 0, media: 1, models: 1, pipeline: 2, transport: 3, cli: 4, bench: 4 };
const ORT_OWNER = join('models', 'ort', 'runtime.ts');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const problems = [];
for (const file of files(SRC)) {
  const rel = relative(SRC, file);
  const layer = rel.split(sep)[0];
  if (!(layer in RANK)) problems.push(`${rel}: folder "${layer}" has no place in the layering`);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = match[1] ?? match[2];
    if (spec === 'onnxruntime-node' && rel !== ORT_OWNER) problems.push(`${rel}: only ${ORT_OWNER} may import onnxruntime-node`);
    if (!spec.startsWith('.')) continue;
    const target = relative(SRC, resolve(dirname(file), spec));
    const targetLayer = target.split(sep)[0];
    if (targetLayer === layer) continue;
    if (!(RANK[targetLayer] < RANK[layer])) problems.push(`${rel}: imports ${target} (${layer} may not depend on ${targetLayer})`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('imports: layering ok');
