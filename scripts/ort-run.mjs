// Runs one float32 tensor through a model with onnxruntime-node (CPU).
// Used by the trainer's export parity check: node scripts/ort-run.mjs MODEL IN.bin N,C,H,W OUT.bin
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, inputPath, shapeText, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node scripts/ort-run.mjs MODEL IN.bin N,C,H,W OUT.bin');
  process.exit(2);
}
const shape = shapeText.split(',').map(Number);
const bytes = readFileSync(inputPath);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
try {
  const result = await session.run({ input: new ort.Tensor('float32', data, shape) });
  const out = result.output.data;
  writeFileSync(outputPath, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
} finally {
  await session.release();
}
