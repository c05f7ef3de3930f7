import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEP_COLOUR_NAME, NotWrapped, PIXELS_NAME, STYLIZED_NAME, readModel, wrapForPixels } from '../../dist/models/ort/pixel-graph.js';
import { FIXTURES, TINY, WRONG_INPUT } from '../support/helpers.js';

describe('the pixel wrap (ONNX bytes in, ONNX bytes out; ONNX Runtime runs it in test/integration/engine.test.ts)', () => {
  it('reads the declared inputs, outputs and opset of a model', () => {
    const { declared, opset } = readModel(readFileSync(join(FIXTURES, 'tiny-colour.onnx')));
    expect(opset).toBe(13);
    expect(declared.inputs.map((v) => v.name).sort()).toEqual(['input', 'strength', 'style']);
    expect(declared.inputs.find((v) => v.name === 'style')).toMatchObject({ type: 'float32', shape: [1, 6] });
    expect(declared.outputs).toEqual([{ name: 'output', type: 'float32', shape: [1, 3, 'height', 'width'] }]);
  });

  it('swaps the float frame input and output for 8-bit pixels and keeps the rest', () => {
    const original = readFileSync(TINY);
    const wrapped = wrapForPixels(original);
    const after = readModel(wrapped.bytes);
    expect(after.opset).toBe(13);
    // The model's batch is dynamic, so the wrap's is too (several frames per run).
    expect(after.declared.inputs).toEqual([{ name: PIXELS_NAME, type: 'uint8', shape: ['batch', 'height', 'width', 'channels'] }]);
    // The colour-keeping wrap takes how much colour to keep as a second input.
    expect(readModel(wrapForPixels(original, { keepColour: true }).bytes).declared.inputs).toEqual([
      { name: PIXELS_NAME, type: 'uint8', shape: ['batch', 'height', 'width', 'channels'] },
      { name: KEEP_COLOUR_NAME, type: 'float32', shape: [1] },
    ]);
    expect(after.declared.outputs).toEqual([{ name: STYLIZED_NAME, type: 'uint8', shape: ['batch', 'height', 'width', 3] }]);
    // A model with a fixed batch of one (contract 2) keeps it.
    const fixed = readModel(wrapForPixels(readFileSync(join(FIXTURES, 'tiny-colour.onnx'))).bytes);
    expect(fixed.declared.inputs.find((v) => v.name === PIXELS_NAME)?.shape).toEqual([1, 'height', 'width', 'channels']);
    expect(wrapped.declared.inputs.map((v) => v.name)).toEqual(['input']);
    expect(wrapped.bytes.length).toBeGreaterThan(original.length);
    expect(wrapped.bytes.length).toBeLessThan(original.length + 2048);
  });

  it('refuses, with the reason, what it cannot wrap', () => {
    const old = new Uint8Array(readFileSync(TINY));
    // The opset import at the end of the file: field 8 { version: 13 } -> { version: 10 }.
    const at = Buffer.from(old).lastIndexOf(Buffer.from([0x42, 0x02, 0x10, 0x0d]));
    expect(at).toBeGreaterThan(0);
    old[at + 3] = 10;
    expect(() => wrapForPixels(old)).toThrow(NotWrapped);
    expect(() => wrapForPixels(old)).toThrow(/opset 10/);
    expect(() => wrapForPixels(readFileSync(WRONG_INPUT))).toThrow(/no float32 "input" and "output"/);
    expect(() => wrapForPixels(new TextEncoder().encode('this is not a model\n'))).toThrow(NotWrapped);
    expect(() => wrapForPixels(new Uint8Array([0x3a, 0x7f]))).toThrow(/not a readable ONNX file/);
  });
});
