// Runs float32 tensors through a model with onnxruntime-node (CPU) and writes its first output.
// Used by the trainer's parity checks and evaluation:
//   node scripts/ort-run.mjs MODEL IN.bin N,C,H,W OUT.bin [NAME=FILE.bin@D0,D1,... ...]
// IN.bin feeds the model's first input; the optional extra feeds name the others (contract 2: style, strength).
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, inputPath, shapeText, outputPath, ...extra] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node scripts/ort-run.mjs MODEL IN.bin N,C,H,W OUT.bin [NAME=FILE.bin@D0,D1,...]');
  process.exit(2);
}
const tensorFrom = (path, shape) => {
  const bytes = readFileSync(path);
  return new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), shape.split(',').map(Number));
};
const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
try {
  const feeds = { [session.inputNames[0]]: tensorFrom(inputPath, shapeText) };
  for (const spec of extra) {
    const match = /^([A-Za-z_][\w.]*)=(.+)@([\d,]+)$/.exec(spec);
    if (!match) throw new Error(`bad feed "${spec}": use NAME=FILE.bin@D0,D1,...`);
    feeds[match[1]] = tensorFrom(match[2], match[3]);
  }
  const result = await session.run(feeds);
  const out = result[session.outputNames[0]].data;
  writeFileSync(outputPath, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
} finally {
  await session.release();
}
