import { describe, expect, it } from 'vitest';
import { numberSpellings, stringifyLike } from '../../dist/core/json-text.js';

// As Python's json.dumps(indent=2, ensure_ascii=False) writes it.
const written = `{
  "id": "mosaic",
  "network": {
    "width": 32,
    "scale": 1.0,
    "channels": [
      11,
      22.0
    ]
  },
  "training": {
    "lr": 1e-05,
    "style_weight": 200000.0,
    "note": "Zürich \\"quoted\\" [1.0]",
    "empty": [],
    "nothing": {},
    "flag": true,
    "none": null
  },
  "metrics": {
    "fps": 3.5
  }
}`;

describe('JSON written back the way it was read', () => {
  it('finds every number with its spelling and path, not numbers inside strings', () => {
    const spellings = numberSpellings(written);
    expect(spellings.get('["network","scale"]')).toBe('1.0');
    expect(spellings.get('["network","channels",1]')).toBe('22.0');
    expect(spellings.get('["training","lr"]')).toBe('1e-05');
    expect(spellings.size).toBe(7);
  });

  it('writes an unchanged value back byte for byte', () => {
    expect(stringifyLike(written, JSON.parse(written))).toBe(written);
  });

  it('changes only what changed, new numbers in JavaScript spelling', () => {
    const value = JSON.parse(written);
    value.metrics.fps = 4;
    value.metrics.note = 'new';
    value.training.style_weight = 300000;
    const lines = stringifyLike(written, value).split('\n');
    const before = written.split('\n');
    const changed = lines.filter((line, index) => line !== before[index]);
    expect(changed).toEqual(['    "style_weight": 300000,', '    "fps": 4,', '    "note": "new"', '  }', '}']);
    expect(JSON.parse(lines.join('\n'))).toEqual(value);
    expect(stringifyLike(written, value)).not.toBe(JSON.stringify(value, null, 2)); // 1.0, 1e-05 kept
  });

  it('lays out any value as JSON.stringify does when the original has nothing to keep', () => {
    const value = { a: [1, { b: null, c: [] }], d: {}, e: 'x', skipped: undefined, f: Number.NaN };
    expect(stringifyLike('{}', value)).toBe(JSON.stringify(value, null, 2));
    expect(() => stringifyLike('{"a": 1.0', value)).toThrow(SyntaxError);
  });
});
