// Prints the README's table of shipped styles from models/*.json (credits, speed, quality).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'models');
const manifests = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const fmt = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '');
const pct = (v) => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '');
const rows = ['| style | painting | licence | variants | CPU fps 640x360 | style gap closed at 720p / 1080p (512 crops) | warping error (clips) | blobs at 720p / 1080p | rims at 720p / 1080p | preview |', '|---|---|---|---|---|---|---|---|---|---|'];
const gaps = (m) => m?.metrics ? `${pct(m.metrics.style_gap_closed_720p) || '-'} / ${pct(m.metrics.style_gap_closed_1080p) || '-'} (${pct(m.metrics.style_gap_closed)})` : '';
const rims = (m) => m?.metrics?.halo_width_px_720p === undefined ? '' : `${m.metrics.halo_width_px_720p} / ${m.metrics.halo_width_px_1080p ?? '-'} px`;
const blobs = (m) => m?.metrics?.blobs_720p === undefined ? '' : `${m.metrics.blobs_720p} / ${m.metrics.blobs_1080p ?? '-'}`;
// Any-painting models (contract 2) are not one style: docs/arbitrary-style.md describes them.
for (const m of manifests.filter((m) => m.listed !== false && m.contract !== 2).sort((a, b) => a.id.localeCompare(b.id))) {
  const variants = manifests.filter((v) => v.variantOf === m.id);
  const fast = variants.find((v) => v.variant === 'fast');
  const credit = [m.style?.painting, m.style?.artist, m.style?.year].filter(Boolean).join(', ');
  const fps = `${fmt(m.metrics?.cpu_fps_640x360, 1)}${fast?.metrics?.cpu_fps_640x360 ? ` (fast: ${fmt(fast.metrics.cpu_fps_640x360, 1)})` : ''}`;
  rows.push(`| \`${m.id}\` | ${credit} | ${m.style?.licence ?? ''} | ${variants.map((v) => v.variant).join(', ') || '-'} | ${fps} | ${gaps(m)}${fast ? `; fast: ${gaps(fast)}` : ''} | ${fmt(m.metrics?.warping_error_clips, 5)} | ${blobs(m)}${fast?.metrics?.blobs_720p !== undefined ? `; fast: ${blobs(fast)}` : ''} | ${rims(m)}${fast?.metrics?.halo_width_px_720p !== undefined ? `; fast: ${rims(fast)}` : ''} | ${m.preview ? `[preview](models/${m.preview})` : ''} |`);
}
console.log(rows.join('\n'));
