/**
 * JSON written back the way it was read. Files here are also written by the
 * Python trainer, which spells floats its own way (`1.0`, `1e-05`, `200000.0`);
 * `JSON.stringify` would turn every one of them into JavaScript's spelling and a
 * one-field change into a diff of the whole file. `stringifyLike` lays out a
 * value as `JSON.stringify(value, null, 2)` does (the layout of Python's
 * `json.dumps(indent=2)` too), but a number that sits at the same place in the
 * original text with the same value keeps its original spelling.
 */

type Path = readonly (string | number)[];

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

function pathKey(path: Path): string {
  return JSON.stringify(path);
}

/** Every number literal of a valid JSON text, by its path, as it is spelled there. */
export function numberSpellings(text: string): Map<string, string> {
  JSON.parse(text); // malformed text fails here, with JSON's own message
  const spellings = new Map<string, string>();
  let at = 0;
  const skipSpace = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const readString = (): string => {
    const start = at++;
    while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const readSticky = (pattern: RegExp): string => {
    pattern.lastIndex = at;
    const found = pattern.exec(text)![0];
    at += found.length;
    return found;
  };
  const readValue = (path: Path): void => {
    skipSpace();
    const opening = text[at];
    if (opening === '{' || opening === '[') {
      const closing = opening === '{' ? '}' : ']';
      at++;
      skipSpace();
      if (text[at] === closing) {
        at++;
        return;
      }
      for (let index = 0; ; index++) {
        skipSpace();
        let key: string | number = index;
        if (opening === '{') {
          key = readString();
          skipSpace();
          at++; // ':'
        }
        readValue([...path, key]);
        skipSpace();
        if (text[at++] === closing) return; // else ','
      }
    }
    if (opening === '"') readString();
    else if (opening === '-' || (opening! >= '0' && opening! <= '9')) spellings.set(pathKey(path), readSticky(NUMBER));
    else readSticky(LITERAL);
  };
  readValue([]);
  return spellings;
}

/**
 * `value` as `JSON.stringify(value, null, 2)` writes it, with the numbers that
 * `original` (a JSON text) holds at the same path and value spelled as there.
 */
export function stringifyLike(original: string, value: unknown): string {
  const spellings = numberSpellings(original);
  const write = (item: unknown, path: Path, indent: string): string | undefined => {
    if (typeof item === 'number') {
      const spelled = spellings.get(pathKey(path));
      return spelled !== undefined && Number(spelled) === item ? spelled : JSON.stringify(item);
    }
    if (Array.isArray(item)) {
      if (item.length === 0) return '[]';
      const inner = `${indent}  `;
      const parts = item.map((element, index) => `${inner}${write(element, [...path, index], inner) ?? 'null'}`);
      return `[\n${parts.join(',\n')}\n${indent}]`;
    }
    if (item !== null && typeof item === 'object') {
      const inner = `${indent}  `;
      const parts: string[] = [];
      for (const [key, element] of Object.entries(item)) {
        const written = write(element, [...path, key], inner);
        if (written !== undefined) parts.push(`${inner}${JSON.stringify(key)}: ${written}`);
      }
      return parts.length === 0 ? '{}' : `{\n${parts.join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(item);
  };
  return write(value, [], '') ?? 'null';
}
