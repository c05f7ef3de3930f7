import { Command } from 'commander';
import { describeError } from '../../core/errors.js';
import { ModelRegistry, defaultModelDirs, type ModelEntry } from '../../models/registry.js';
import { sha256Of } from '../../models/manifest.js';
import { inspectModel } from '../../models/ort/runtime.js';
import type { CliContext } from '../context.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function credit(entry: ModelEntry): string {
  if (entry.manifest?.arbitrary) return 'any painting (--style-image)';
  const s = entry.manifest?.style;
  if (!s) return '';
  return [s.painting, s.artist, s.year].filter(Boolean).join(', ');
}

function metric(entry: ModelEntry, key: string, digits = 1): string {
  const v = entry.manifest?.metrics?.[key];
  return typeof v === 'number' ? v.toFixed(digits) : '';
}

function percent(entry: ModelEntry, key: string): string {
  const v = entry.manifest?.metrics?.[key];
  return typeof v === 'number' ? `${Math.round(v * 100)}%` : '-';
}

/** Style gap closed where users watch (720p, 1080p frames), then on 512 px crops; docs/metrics.md. */
function styleGaps(entry: ModelEntry): string {
  const gaps = ['style_gap_closed_720p', 'style_gap_closed_1080p', 'style_gap_closed'].map((k) => percent(entry, k));
  return gaps.every((g) => g === '-') ? '' : `${gaps[0]} / ${gaps[1]} (${gaps[2]})`;
}

/** `a / b` of two metrics (720p / 1080p), '-' for a missing one; '' when both are. */
function pair(entry: ModelEntry, key720: string, key1080: string, unit = ''): string {
  const [a, b] = [metric(entry, key720, 0), metric(entry, key1080, 0)];
  return a || b ? `${a || '-'} / ${b || '-'}${unit}` : '';
}

/** 'ok', or what is wrong: the graph against the contract, the file against the manifest's sha256. */
async function checkModel(entry: ModelEntry): Promise<string> {
  try {
    await inspectModel(entry.onnxPath);
    const expected = entry.manifest?.sha256;
    if (expected && (await sha256Of(entry.onnxPath)) !== expected) return `INVALID: ${entry.onnxPath} does not match the manifest's sha256 (changed or damaged)`;
    return 'ok';
  } catch (error) {
    return `INVALID: ${describeError(error)}`;
  }
}

export function modelsCommand(context: CliContext): Command {
  return new Command('models')
    .description('list installed styles and check each model against the model contract')
    .option('--all', 'include unlisted models (baselines, fixtures)')
    .option('--json', 'print JSON instead of a table')
    .option('--models-dir <dir...>', 'extra folders with <id>.onnx + <id>.json models')
    .action(async (flags: { all?: boolean; json?: boolean; modelsDir?: string[] }) => {
      const registry = await ModelRegistry.load([...(flags.modelsDir ?? []), ...defaultModelDirs()]);
      const entries = flags.all ? registry.all() : registry.listed();
      const checked = await Promise.all(entries.map(async (entry) => ({ entry, status: await checkModel(entry) })));
      if (flags.json) {
        const out = checked.map(({ entry, status }) => ({ id: entry.id, title: entry.title, file: entry.onnxPath, status, manifest: entry.manifest }));
        process.stdout.write(JSON.stringify({ models: out, problems: registry.problems }, null, 2) + '\n');
      } else {
        const rows = [['ID', 'TITLE', 'STYLE', 'VARIANT', 'PARAMS', 'CPU FPS 640x360', 'STYLE GAP 720p / 1080p (512 crop)', 'WARP ERR', 'BLOBS 720p / 1080p', 'RIMS 720p / 1080p', 'STATUS']];
        const shown = new Set(entries.map((e) => e.id));
        const statusOf = new Map(checked.map((c) => [c.entry.id, c.status]));
        for (const { entry } of checked) {
          if (entry.manifest?.variantOf && shown.has(entry.manifest.variantOf)) continue; // listed under its style
          for (const e of [entry, ...registry.variantsOf(entry.id)]) {
            const params = e.manifest?.network?.parameters;
            const scale = e.manifest?.runtime?.modelScale;
            rows.push([
              e === entry ? e.id : `  ${e.id}`,
              e === entry ? e.title : '',
              e === entry ? credit(e) : '',
              `${e.manifest?.variant ?? 'quality'}${scale && scale < 1 ? ` @${scale}x` : ''}${e.manifest?.network?.['upscale'] ? ' @0.5x sub-pixel' : ''}`,
              typeof params === 'number' ? `${(params / 1e6).toFixed(2)}M` : '',
              metric(e, 'cpu_fps_640x360'),
              styleGaps(e),
              metric(e, 'warping_error_clips', 5),
              pair(e, 'blobs_720p', 'blobs_1080p'),
              // How far a glow or dark rim reaches out from dark shapes on flat backgrounds (docs/metrics.md, "Artifacts at the same sizes").
              pair(e, 'halo_width_px_720p', 'halo_width_px_1080p', ' px'),
              statusOf.get(e.id) ?? (await checkModel(e)),
            ]);
          }
        }
        process.stdout.write(entries.length ? table(rows) + '\n' : 'no models installed\n');
        for (const problem of registry.problems) context.log(`warning: ${problem.message}`);
      }
      const bad = checked.filter((c) => c.status !== 'ok').length + registry.problems.length;
      if (bad > 0) process.exitCode = 1;
    });
}
