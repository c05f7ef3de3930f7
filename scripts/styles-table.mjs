// Prints the README's table of shipped styles from models/*.json (credits, speed, quality).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'models');
const manifests = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const fmt = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '');
const pct = (v) => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '');
const rows = ['| style | painting | licence | variants | CPU fps 640x360 | style gap closed at 720p / 1080p (512 crops) | warping error (clips) | blobs at 720p / 1080p | rims at 720p / 1080p | preview |', '|---|---|---|---|---|---|---|---|---|---|'];
const gaps = (m) => m?.metrics ? `${pct(m.metrics.style_gap_closed_720p) || '-'} / ${pct(m.metrics.style_gap_closed_1080p) || '-'} (${pct(m.metrics.style_gap_closed)})` : '';
// A 720p / 1080p figure pair, '' where the model has no 720p figure.
const pair = (m, name, unit = '') => m?.metrics?.[`${name}_720p`] === undefined ? '' : `${m.metrics[`${name}_720p`]} / ${m.metrics[`${name}_1080p`] ?? '-'}${unit}`;
const withFast = (text, fastText) => `${text}${fastText ? `; fast: ${fastText}` : ''}`;
// Any-painting models (contract 2) are not one style: docs/arbitrary-style.md describes them.
for (const m of manifests.filter((m) => m.listed !== false && m.contract !== 2).sort((a, b) => a.id.localeCompare(b.id))) {
  const variants = manifests.filter((v) => v.variantOf === m.id);
  const fast = variants.find((v) => v.variant === 'fast');
  const credit = [m.style?.painting, m.style?.artist, m.style?.year].filter(Boolean).join(', ');
  const fps = `${fmt(m.metrics?.cpu_fps_640x360, 1)}${fast?.metrics?.cpu_fps_640x360 ? ` (fast: ${fmt(fast.metrics.cpu_fps_640x360, 1)})` : ''}`;
  rows.push(`| \`${m.id}\` | ${credit} | ${m.style?.licence ?? ''} | ${variants.map((v) => v.variant).join(', ') || '-'} | ${fps} | ${gaps(m)}${fast ? `; fast: ${gaps(fast)}` : ''} | ${fmt(m.metrics?.warping_error_clips, 5)} | ${withFast(pair(m, 'blobs'), pair(fast, 'blobs'))} | ${withFast(pair(m, 'halo_width_px', ' px'), pair(fast, 'halo_width_px', ' px'))} | ${m.preview ? `[preview](models/${m.preview})` : ''} |`);
}
console.log(rows.join('\n'));
