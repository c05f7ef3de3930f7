/**
 * The model contract (docs/model-contract.md), checked here in pure code so the
 * same rules apply to `stylecast models`, to every session, and to tests.
 *
 * Two forms: contract 1, one network (`input` -> `output`); contract 2,
 * arbitrary style: a stylizer (`input`, `style`, `strength` -> `output`) and a
 * style encoder beside it (`painting` -> `style`), named `<id>.style.onnx`.
 */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';
export const STYLE_NAME = 'style';
export const STRENGTH_NAME = 'strength';
export const PAINTING_NAME = 'painting';
export const SIZE_MULTIPLE = 4;

/** What a contract-2 stylizer takes beside the frame: a painting's style vector and how strongly to apply it. */
export interface Conditioning {
  readonly style: Float32Array;
  readonly strength: number;
}

export interface ValueSignature {
  readonly name: string;
  readonly type: string;
  readonly shape: ReadonlyArray<number | string> | null;
}

export interface ModelSignature {
  readonly inputs: readonly ValueSignature[];
  readonly outputs: readonly ValueSignature[];
}

/** The encoder of an arbitrary-style model sits beside its stylizer: models/<id>.style.onnx. */
export function encoderPathFor(stylizerPath: string): string {
  return stylizerPath.replace(/\.onnx$/i, '.style.onnx');
}

function checkImage(kind: 'input' | 'output', value: ValueSignature): string[] {
  const problems: string[] = [];
  if (value.type !== 'float32') problems.push(`${kind} "${value.name}" is ${value.type}, expected float32`);
  const shape = value.shape;
  if (shape) {
    if (shape.length !== 4) problems.push(`${kind} "${value.name}" has rank ${shape.length}, expected 4 (NCHW)`);
    else {
      if (shape[1] !== 3) problems.push(`${kind} "${value.name}" has ${String(shape[1])} channels, expected 3 (RGB)`);
      for (const axis of [2, 3] as const) {
        if (typeof shape[axis] === 'number' && (shape[axis] as number) > 0) {
          problems.push(`${kind} "${value.name}" has a fixed ${axis === 2 ? 'height' : 'width'} (${shape[axis]}); the contract needs dynamic height and width`);
        }
      }
    }
  }
  return problems;
}

function checkVector(kind: 'input' | 'output', value: ValueSignature, rank: number): string[] {
  const problems: string[] = [];
  if (value.type !== 'float32') problems.push(`${kind} "${value.name}" is ${value.type}, expected float32`);
  if (value.shape && value.shape.length !== rank) problems.push(`${kind} "${value.name}" has rank ${value.shape.length}, expected ${rank}`);
  return problems;
}

function namesOf(values: readonly ValueSignature[]): string {
  return values.map((v) => v.name).join(', ') || 'none';
}

/** Checks a list of values against the expected names and a check per name, in any order. */
function checkValues(
  kind: 'input' | 'output',
  values: readonly ValueSignature[],
  expected: ReadonlyArray<readonly [string, (kind: 'input' | 'output', v: ValueSignature) => string[]]>,
): string[] {
  if (values.length !== expected.length) {
    const wanted = expected.map(([name]) => `"${name}"`).join(', ');
    return [`expected ${expected.length} ${kind}${expected.length > 1 ? 's' : ''} named ${wanted}, found ${values.length} (${namesOf(values)})`];
  }
  if (expected.length === 1 && values[0]!.name !== expected[0]![0]) {
    return [`${kind} is named "${values[0]!.name}", expected "${expected[0]![0]}"`, ...expected[0]![1](kind, values[0]!)];
  }
  return expected.flatMap(([name, check]) => {
    const value = values.find((v) => v.name === name);
    return value ? check(kind, value) : [`no ${kind} named "${name}" (found ${namesOf(values)})`];
  });
}

/** Whether a stylizer takes a style vector (contract 2) rather than only a frame (contract 1). */
export function isArbitraryStylizer(signature: ModelSignature): boolean {
  return signature.inputs.some((v) => v.name === STYLE_NAME);
}

/** Everything wrong with a model's inputs and outputs; empty when it follows the contract (either form). */
export function contractProblems(signature: ModelSignature): string[] {
  const inputs: Array<readonly [string, (kind: 'input' | 'output', v: ValueSignature) => string[]]> = [[INPUT_NAME, checkImage]];
  if (isArbitraryStylizer(signature)) {
    const fixedLength = (k: 'input' | 'output', v: ValueSignature) => {
      const problems = checkVector(k, v, 2);
      const length = v.shape?.[1];
      if (v.shape && !(typeof length === 'number' && length > 0)) problems.push(`${k} "${v.name}" needs a fixed length (its second dimension)`);
      return problems;
    };
    inputs.push([STYLE_NAME, fixedLength], [STRENGTH_NAME, (k, v) => checkVector(k, v, 1)]);
  }
  return [...checkValues('input', signature.inputs, inputs), ...checkValues('output', signature.outputs, [[OUTPUT_NAME, checkImage]])];
}

/** Everything wrong with an arbitrary-style model's encoder, given its stylizer's style length. */
export function encoderProblems(signature: ModelSignature, styleLength: number | null): string[] {
  const problems = [
    ...checkValues('input', signature.inputs, [[PAINTING_NAME, checkImage]]),
    ...checkValues('output', signature.outputs, [[STYLE_NAME, (k, v) => checkVector(k, v, 2)]]),
  ];
  const produced = signature.outputs.find((v) => v.name === STYLE_NAME)?.shape?.[1];
  if (styleLength !== null && typeof produced === 'number' && produced !== styleLength) {
    problems.push(`the encoder makes style vectors of ${produced} numbers, its stylizer takes ${styleLength}`);
  }
  return problems;
}

/** The style length a contract-2 stylizer takes (from its `style` input's shape), or null. */
export function styleLengthOf(signature: ModelSignature): number | null {
  const length = signature.inputs.find((v) => v.name === STYLE_NAME)?.shape?.[1];
  return typeof length === 'number' && length > 0 ? length : null;
}
