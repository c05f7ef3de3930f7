// Prints the README's table of shipped styles from models/*.json (credits, speed, quality).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'models');
const manifests = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const fmt = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '');
const exp = (v) => (typeof v === 'number' ? v.toExponential(2) : '');
const rows = ['| style | painting | licence | variants | CPU fps 640x360 | warping error (clips) | style loss | preview |', '|---|---|---|---|---|---|---|---|'];
for (const m of manifests.filter((m) => m.listed !== false).sort((a, b) => a.id.localeCompare(b.id))) {
  const variants = manifests.filter((v) => v.variantOf === m.id);
  const fast = variants.find((v) => v.variant === 'fast');
  const credit = [m.style?.painting, m.style?.artist, m.style?.year].filter(Boolean).join(', ');
  const fps = `${fmt(m.metrics?.cpu_fps_640x360, 1)}${fast?.metrics?.cpu_fps_640x360 ? ` (fast: ${fmt(fast.metrics.cpu_fps_640x360, 1)})` : ''}`;
  rows.push(`| \`${m.id}\` | ${credit} | ${m.style?.licence ?? ''} | ${variants.map((v) => v.variant).join(', ') || '-'} | ${fps} | ${fmt(m.metrics?.warping_error_clips, 5)} | ${exp(m.metrics?.style_loss)} | ${m.preview ? `[preview](models/${m.preview})` : ''} |`);
}
console.log(rows.join('\n'));
