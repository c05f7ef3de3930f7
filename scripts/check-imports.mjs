// Import rules, checked on the TypeScript syntax tree (so no form of import escapes):
//  - layering: cli/bench -> transport -> pipeline -> models, media -> core (never upwards);
//  - only src/models/ort/runtime.ts loads ONNX Runtime (onnxruntime-node, its subpaths, onnxruntime-common);
//  - only src/transport/webrtc/wrtc.ts loads @roamhq/wrtc; only src/transport/janus/janode.ts loads janode;
//  - every module specifier is a literal (a computed import or require could load anything).
// Forms covered: import/export ... from, side-effect import, import type, import(), require(),
// createRequire(...)(...). Usage: node scripts/check-imports.mjs [--src DIR]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const srcFlag = process.argv.indexOf('--src');
const SRC = resolve(srcFlag > 0 ? process.argv[srcFlag + 1] : join(import.meta.dirname, '..', 'src'));
const RANK = { core: 0, media: 1, models: 1, pipeline: 2, transport: 3, cli: 4, bench: 4 };
const OWNERS = [
  { test: (spec) => /^onnxruntime-(node|common|web)(\/|$)/.test(spec), owner: join('models', 'ort', 'runtime.ts'), what: 'ONNX Runtime' },
  { test: (spec) => /^@roamhq\/wrtc(\/|$)|^wrtc(\/|$)/.test(spec), owner: join('transport', 'webrtc', 'wrtc.ts'), what: '@roamhq/wrtc' },
  // janode-types.d.ts beside it holds janode's typings (janode ships none).
  { test: (spec) => /^janode(\/|$)/.test(spec), owner: join('transport', 'janus', 'janode.ts'), also: join('transport', 'janus', 'janode-types.d.ts'), what: 'janode' },
];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier in a file: [text or null when computed, line]. */
function specifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  // Names bound to a require function: `const req = createRequire(import.meta.url)`.
  const requireNames = new Set(['require']);
  const collect = (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && ts.isCallExpression(node.initializer)
      && ts.isIdentifier(node.initializer.expression) && node.initializer.expression.text === 'createRequire') requireNames.add(node.name.text);
    ts.forEachChild(node, collect);
  };
  collect(source);
  const add = (node, arg) => found.push([arg && ts.isStringLiteralLike(arg) ? arg.text : null, source.getLineAndCharacterOfPosition(node.getStart()).line + 1]);
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && requireNames.has(callee.text);
      // createRequire(import.meta.url)('x'), or any call of a value named like a require
      const isMadeRequire = ts.isCallExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'createRequire';
      const isNamedRequire = ts.isIdentifier(callee) && /require$/i.test(callee.text) && !['require', 'createRequire'].includes(callee.text);
      if (isImport || isRequire || isMadeRequire || isNamedRequire) add(node, node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const problems = [];
for (const file of files(SRC)) {
  const rel = relative(SRC, file);
  const layer = rel.split(sep)[0];
  if (!(layer in RANK)) problems.push(`${rel}: folder "${layer}" has no place in the layering`);
  for (const [spec, line] of specifiers(file)) {
    const at = `${rel}:${line}`;
    if (spec === null) {
      problems.push(`${at}: a computed module specifier (use a string literal)`);
      continue;
    }
    for (const { test, owner, also, what } of OWNERS) if (test(spec) && rel !== owner && rel !== also) problems.push(`${at}: only ${owner} may load ${what} (${spec})`);
    if (!spec.startsWith('.')) continue;
    const target = relative(SRC, resolve(dirname(file), spec));
    const targetLayer = target.split(sep)[0];
    if (targetLayer === layer) continue;
    if (!(RANK[targetLayer] < RANK[layer])) problems.push(`${at}: imports ${target} (${layer} may not depend on ${targetLayer})`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('imports: layering ok');
