import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'check-imports.mjs');
const roots: string[] = [];

/** Runs the import lint on a small source tree; returns its exit code and output. */
function lint(tree: Record<string, string>): { code: number; output: string } {
  const root = mkdtempSync(join(tmpdir(), 'stylecast-lint-'));
  roots.push(root);
  for (const [path, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  try {
    return { code: 0, output: execFileSync(process.execPath, [SCRIPT, '--src', root], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { status: number; stderr: string };
    return { code: e.status, output: e.stderr };
  }
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('the import lint (scripts/check-imports.mjs)', () => {
  const base = { 'core/a.ts': 'export const a = 1;\n', 'transport/t.ts': "import { a } from '../core/a.js';\nexport const t = a;\n" };

  it('passes a tree that follows the rules', () => {
    expect(lint(base)).toMatchObject({ code: 0 });
  });

  const bypasses: Array<[string, Record<string, string>, RegExp]> = [
    ['core importing transport', { 'core/b.ts': "import { t } from '../transport/t.js';\n" }, /core may not depend on transport/],
    ['a side-effect import upwards', { 'core/b.ts': "import '../transport/t.js';\n" }, /core may not depend on transport/],
    ['a type-only import upwards', { 'models/m.ts': "import type { t } from '../transport/t.js';\n" }, /models may not depend on transport/],
    ['export * from upwards', { 'pipeline/p.ts': "export * from '../cli/c.js';\n", 'cli/c.ts': '' }, /pipeline may not depend on cli/],
    ['a dynamic import upwards', { 'core/b.ts': "export const x = () => import('../transport/t.js');\n" }, /core may not depend on transport/],
    ['createRequire loading onnxruntime-node', { 'pipeline/p.ts': "import { createRequire } from 'node:module';\nconst ort = createRequire(import.meta.url)('onnxruntime-node');\n" }, /only models\/ort\/runtime\.ts may load ONNX Runtime/],
    ['a require made by createRequire', { 'pipeline/p.ts': "import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nreq('@roamhq/wrtc');\n" }, /only transport\/webrtc\/wrtc\.ts may load @roamhq\/wrtc/],
    ['onnxruntime-common', { 'models/engine.ts': "import { Tensor } from 'onnxruntime-common';\n" }, /may load ONNX Runtime \(onnxruntime-common\)/],
    ['a deep onnxruntime-node path', { 'models/x.ts': "import b from 'onnxruntime-node/dist/binding.js';\n" }, /may load ONNX Runtime/],
    ['@roamhq/wrtc outside its facade', { 'transport/sessions/s.ts': "import wrtc from '@roamhq/wrtc';\n" }, /only transport\/webrtc\/wrtc\.ts may load @roamhq\/wrtc/],
    ['a computed specifier', { 'core/b.ts': "const name = 'onnxruntime-node';\nexport const x = () => import(name);\n" }, /a computed module specifier/],
    ['a folder outside the layering', { 'utils/u.ts': 'export {};\n' }, /folder "utils" has no place/],
  ];
  for (const [name, extra, message] of bypasses) {
    it(`fails on ${name}`, () => {
      const result = lint({ ...base, ...extra });
      expect(result.code, result.output).toBe(1);
      expect(result.output).toMatch(message);
    });
  }
});
