/**
 * Wraps a contract stylizer (float32 NCHW in [0, 1]) into a graph that takes
 * and gives packed 8-bit pixels: `pixels` uint8 [N, H, W, C] (C = 3 or 4, the
 * alpha ignored) -> `stylized` uint8 [N, H, W, 3]. The slice, transpose, cast
 * and scale run inside ONNX Runtime, so a frame crosses into the session at a
 * quarter of the float size (and on a GPU, crosses the bus that way) and no
 * JavaScript loop converts it. The model file on disk is not changed: the
 * wrap is made from its bytes at load, so it applies to any model that
 * follows the contract, ours or a user's.
 *
 * ONNX files are protobuf. Only what the wrap needs is read (the opset, the
 * graph's inputs and outputs) and written (a few nodes, constants and value
 * infos); everything else is copied through as bytes.
 */
import { INPUT_NAME, OUTPUT_NAME, type ModelSignature, type ValueSignature } from '../contract.js';

export const PIXELS_NAME = 'pixels';
export const STYLIZED_NAME = 'stylized';
/**
 * Second input of the colour-keeping wrap (float32 [1], fed with every run): how much of the
 * frame's own colour the stylized frame keeps. The painting's luminance
 * (strokes, light and shade) stays; its colours move towards the frame's by
 * this much (Gatys et al. 2016, "preserving colour": the frame shifted by the
 * luminance difference keeps the frame's chroma exactly). The plain wrap has no
 * such nodes: at 0 they would cost every frame several passes over the picture.
 */
export const KEEP_COLOUR_NAME = 'keep_colour';
/** ITU-R BT.601 luma weights, as the flicker and colour measures use. */
const LUMA = [0.299, 0.587, 0.114];
/** Clip and Round with tensor bounds need opset 11. */
const MIN_OPSET = 11;
const PREFIX = 'stylecast_pixel_io/';

// ONNX TensorProto.DataType values.
const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;
const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64',
};

// Protobuf wire types.
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

interface Field {
  readonly number: number;
  readonly wire: number;
  /** The whole field, tag included: what is copied through. */
  readonly start: number;
  readonly end: number;
  /** A varint's value, or a length-delimited field's payload range. */
  readonly value: number;
  readonly payloadStart: number;
}

class ProtobufError extends Error {}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new ProtobufError('a varint runs past the end');
}

/** The top-level fields of one message, in order. */
function fieldsOf(bytes: Uint8Array, from = 0, to = bytes.length): Field[] {
  const fields: Field[] = [];
  let at = from;
  while (at < to) {
    const tag = readVarint(bytes, at);
    const number = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    let value = 0;
    let payloadStart = tag.next;
    let end: number;
    if (wire === VARINT) {
      const v = readVarint(bytes, tag.next);
      value = v.value;
      end = v.next;
    } else if (wire === LENGTH_DELIMITED) {
      const length = readVarint(bytes, tag.next);
      payloadStart = length.next;
      value = length.value;
      end = length.next + length.value;
    } else if (wire === FIXED64) end = tag.next + 8;
    else if (wire === FIXED32) end = tag.next + 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (end > to) throw new ProtobufError('a field runs past the end of its message');
    fields.push({ number, wire, start: at, end, value, payloadStart });
    at = end;
  }
  return fields;
}

const payload = (bytes: Uint8Array, field: Field) => bytes.subarray(field.payloadStart, field.end);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function only(bytes: Uint8Array, number: number): Field | undefined {
  return fieldsOf(bytes).find((f) => f.number === number);
}

/** A ValueInfoProto as the contract checks see it. */
function readValueInfo(bytes: Uint8Array): ValueSignature {
  const fields = fieldsOf(bytes);
  const nameField = fields.find((f) => f.number === 1 && f.wire === LENGTH_DELIMITED);
  const name = nameField ? text(payload(bytes, nameField)) : '';
  const typeField = fields.find((f) => f.number === 2 && f.wire === LENGTH_DELIMITED);
  const tensorField = typeField && only(payload(bytes, typeField), 1);
  if (!typeField || !tensorField) return { name, type: 'non-tensor', shape: null };
  const tensor = payload(payload(bytes, typeField), tensorField);
  const tensorFields = fieldsOf(tensor);
  const elem = tensorFields.find((f) => f.number === 1 && f.wire === VARINT)?.value ?? 0;
  const shapeField = tensorFields.find((f) => f.number === 2 && f.wire === LENGTH_DELIMITED);
  let shape: Array<number | string> | null = null;
  if (shapeField) {
    const shapeBytes = payload(tensor, shapeField);
    shape = fieldsOf(shapeBytes).filter((f) => f.number === 1).map((dimField) => {
      const dim = payload(shapeBytes, dimField);
      const part = fieldsOf(dim)[0];
      if (!part) return '';
      return part.number === 1 ? part.value : text(payload(dim, part));
    });
  }
  return { name, type: ELEMENT_TYPES[elem] ?? `type ${elem}`, shape };
}

class Writer {
  private readonly chunks: Uint8Array[] = [];

  varint(value: number): this {
    const out: number[] = [];
    let v = value;
    if (v < 0) throw new RangeError('negative varints are not written here');
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) byte |= 0x80;
      out.push(byte);
    } while (v > 0);
    this.chunks.push(Uint8Array.from(out));
    return this;
  }

  tag(number: number, wire: number): this {
    return this.varint(number * 8 + wire);
  }

  int(number: number, value: number): this {
    return this.tag(number, VARINT).varint(value);
  }

  bytes(number: number, value: Uint8Array): this {
    this.tag(number, LENGTH_DELIMITED).varint(value.length);
    this.chunks.push(value);
    return this;
  }

  string(number: number, value: string): this {
    return this.bytes(number, new TextEncoder().encode(value));
  }

  raw(value: Uint8Array): this {
    this.chunks.push(value);
    return this;
  }

  finish(): Uint8Array {
    const length = this.chunks.reduce((sum, c) => sum + c.length, 0);
    const out = new Uint8Array(length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

type Attribute = { readonly name: string; readonly int: number } | { readonly name: string; readonly ints: readonly number[] };

function node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly Attribute[] = []): Uint8Array {
  const w = new Writer();
  for (const input of inputs) w.string(1, input);
  for (const output of outputs) w.string(2, output);
  w.string(3, `${PREFIX}${outputs[0]!.replace(PREFIX, '')}`).string(4, opType);
  for (const attribute of attributes) {
    const a = new Writer().string(1, attribute.name);
    // AttributeProto.type: INT = 2, INTS = 7.
    if ('int' in attribute) a.int(3, attribute.int).int(20, 2);
    else {
      for (const value of attribute.ints) a.int(8, value);
      a.int(20, 7);
    }
    w.bytes(5, a.finish());
  }
  return w.finish();
}

function constant(name: string, dataType: number, dims: readonly number[], values: readonly number[]): Uint8Array {
  const w = new Writer();
  for (const dim of dims) w.int(1, dim);
  w.int(2, dataType).string(8, name);
  const raw = dataType === INT64 ? new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) : new Uint8Array(new Float32Array(values).buffer);
  return w.bytes(9, raw).finish();
}

function valueInfo(name: string, elemType: number, dims: ReadonlyArray<number | string>): Uint8Array {
  const shape = new Writer();
  for (const dim of dims) {
    shape.bytes(1, typeof dim === 'number' ? new Writer().int(1, dim).finish() : new Writer().string(2, dim).finish());
  }
  const tensor = new Writer().int(1, elemType).bytes(2, shape.finish()).finish();
  const type = new Writer().bytes(1, tensor).finish();
  return new Writer().string(1, name).bytes(2, type).finish();
}

export interface PixelGraph {
  readonly bytes: Uint8Array;
  /** The wrapped model's own inputs and outputs, as it declares them (for the contract check). */
  readonly declared: ModelSignature;
}

/** Why a model was not wrapped (it then runs on float tensors converted by the worker). */
export class NotWrapped extends Error {}

/** The model's declared inputs and outputs and its default-domain opset, read from its bytes. */
export function readModel(model: Uint8Array): { declared: ModelSignature; opset: number | null; graph: Field } {
  let top: Field[];
  try {
    top = fieldsOf(model);
  } catch (error) {
    throw new NotWrapped(`not a readable ONNX file (${(error as Error).message})`);
  }
  const graph = top.find((f) => f.number === 7 && f.wire === LENGTH_DELIMITED);
  if (!graph) throw new NotWrapped('the file holds no graph');
  let opset: number | null = null;
  for (const field of top.filter((f) => f.number === 8 && f.wire === LENGTH_DELIMITED)) {
    const parts = fieldsOf(payload(model, field));
    const domainField = parts.find((f) => f.number === 1);
    const domain = domainField ? text(payload(payload(model, field), domainField)) : '';
    const version = parts.find((f) => f.number === 2)?.value;
    if ((domain === '' || domain === 'ai.onnx') && version !== undefined) opset = version;
  }
  const graphBytes = payload(model, graph);
  const graphFields = fieldsOf(graphBytes);
  const read = (number: number) => graphFields.filter((f) => f.number === number).map((f) => readValueInfo(payload(graphBytes, f)));
  // Initializers may also be listed as inputs (older IR versions); they are not fed.
  const initializers = new Set(graphFields.filter((f) => f.number === 5).map((f) => {
    const name = fieldsOf(payload(graphBytes, f)).find((p) => p.number === 8);
    return name ? text(payload(payload(graphBytes, f), name)) : '';
  }));
  return { declared: { inputs: read(11).filter((v) => !initializers.has(v.name)), outputs: read(12) }, opset, graph };
}

/**
 * The model with 8-bit pixel input and output. Throws NotWrapped (with the
 * reason) for a file it cannot wrap: the caller then loads the file as it is.
 */
export function wrapForPixels(model: Uint8Array, options: { readonly keepColour?: boolean } = {}): PixelGraph {
  const { declared, opset, graph } = readModel(model);
  if (opset === null || opset < MIN_OPSET) throw new NotWrapped(`opset ${opset ?? 'unknown'} (the pixel wrap needs ${MIN_OPSET} or later)`);
  const input = declared.inputs.find((v) => v.name === INPUT_NAME);
  const output = declared.outputs.find((v) => v.name === OUTPUT_NAME);
  if (input?.type !== 'float32' || output?.type !== 'float32') throw new NotWrapped(`no float32 "${INPUT_NAME}" and "${OUTPUT_NAME}"`);
  const taken = [...declared.inputs, ...declared.outputs].map((v) => v.name);
  const ours = [PIXELS_NAME, STYLIZED_NAME, KEEP_COLOUR_NAME];
  if (ours.some((n) => taken.includes(n))) throw new NotWrapped(`the model already has a value named ${ours.map((n) => `"${n}"`).join(', ')}`);

  const graphBytes = payload(model, graph);
  const name = (s: string) => PREFIX + s;
  const g = new Writer();
  // Nodes before the model's own, so the node list stays in topological order.
  g.bytes(1, node('Slice', [PIXELS_NAME, name('c0'), name('c3'), name('axis3')], [name('rgb')]));
  g.bytes(1, node('Transpose', [name('rgb')], [name('rgb_nchw')], [{ name: 'perm', ints: [0, 3, 1, 2] }]));
  g.bytes(1, node('Cast', [name('rgb_nchw')], [name('rgb_float')], [{ name: 'to', int: FLOAT }]));
  g.bytes(1, node('Mul', [name('rgb_float'), name('inv255')], [INPUT_NAME]));
  for (const field of fieldsOf(graphBytes)) {
    const isOldInput = field.number === 11 && readValueInfo(payload(graphBytes, field)).name === INPUT_NAME;
    const isOldOutput = field.number === 12 && readValueInfo(payload(graphBytes, field)).name === OUTPUT_NAME;
    if (!isOldInput && !isOldOutput) g.raw(graphBytes.subarray(field.start, field.end));
  }
  let painted = OUTPUT_NAME;
  if (options.keepColour) {
    // Colour keeping: mixed = output + k * ((input + Y(output) - Y(input)) - output); k = 0 leaves the output as it was.
    g.bytes(1, node('Conv', [OUTPUT_NAME, name('luma')], [name('y_out')]));
    g.bytes(1, node('Conv', [INPUT_NAME, name('luma')], [name('y_in')]));
    g.bytes(1, node('Sub', [name('y_out'), name('y_in')], [name('y_shift')]));
    g.bytes(1, node('Add', [INPUT_NAME, name('y_shift')], [name('frame_colours')]));
    g.bytes(1, node('Sub', [name('frame_colours'), OUTPUT_NAME], [name('towards_frame')]));
    g.bytes(1, node('Mul', [name('towards_frame'), KEEP_COLOUR_NAME], [name('colour_step')]));
    g.bytes(1, node('Add', [OUTPUT_NAME, name('colour_step')], [name('mixed')]));
    painted = name('mixed');
  }
  g.bytes(1, node('Mul', [painted, name('f255')], [name('scaled')]));
  g.bytes(1, node('Clip', [name('scaled'), name('f0'), name('f255')], [name('clipped')]));
  g.bytes(1, node('Round', [name('clipped')], [name('rounded')]));
  g.bytes(1, node('Cast', [name('rounded')], [name('bytes_nchw')], [{ name: 'to', int: UINT8 }]));
  g.bytes(1, node('Transpose', [name('bytes_nchw')], [STYLIZED_NAME], [{ name: 'perm', ints: [0, 2, 3, 1] }]));
  g.bytes(5, constant(name('c0'), INT64, [1], [0]));
  g.bytes(5, constant(name('c3'), INT64, [1], [3]));
  g.bytes(5, constant(name('axis3'), INT64, [1], [3]));
  g.bytes(5, constant(name('inv255'), FLOAT, [], [1 / 255]));
  g.bytes(5, constant(name('f255'), FLOAT, [], [255]));
  g.bytes(5, constant(name('f0'), FLOAT, [], [0]));
  if (options.keepColour) g.bytes(5, constant(name('luma'), FLOAT, [1, 3, 1, 1], LUMA));
  // The batch dimension as the model declares it: dynamic (several frames per run) or fixed (contract 2's batch of one).
  const batch = typeof input.shape?.[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : 'batch';
  g.bytes(11, valueInfo(PIXELS_NAME, UINT8, [batch, 'height', 'width', 'channels']));
  if (options.keepColour) g.bytes(11, valueInfo(KEEP_COLOUR_NAME, FLOAT, [1]));
  g.bytes(12, valueInfo(STYLIZED_NAME, UINT8, [batch, 'height', 'width', 3]));

  const out = new Writer().raw(model.subarray(0, graph.start)).bytes(7, g.finish()).raw(model.subarray(graph.end));
  return { bytes: out.finish(), declared };
}
