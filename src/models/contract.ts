/**
 * The model contract (docs/model-contract.md), checked here in pure code so the
 * same rules apply to `stylecast models`, to every session, and to tests.
 */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';
export const SIZE_MULTIPLE = 4;

export interface ValueSignature {
  readonly name: string;
  readonly type: string;
  readonly shape: ReadonlyArray<number | string> | null;
}

export interface ModelSignature {
  readonly inputs: readonly ValueSignature[];
  readonly outputs: readonly ValueSignature[];
}

function checkValue(kind: 'input' | 'output', expectedName: string, values: readonly ValueSignature[]): string[] {
  if (values.length !== 1) {
    return [`expected 1 ${kind} named "${expectedName}", found ${values.length} (${values.map((v) => v.name).join(', ') || 'none'})`];
  }
  const value = values[0]!;
  const problems: string[] = [];
  if (value.name !== expectedName) problems.push(`${kind} is named "${value.name}", expected "${expectedName}"`);
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

/** Everything wrong with a model's inputs and outputs; empty when it follows the contract. */
export function contractProblems(signature: ModelSignature): string[] {
  return [...checkValue('input', INPUT_NAME, signature.inputs), ...checkValue('output', OUTPUT_NAME, signature.outputs)];
}
