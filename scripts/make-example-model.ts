// Writes the example model served by `npm run serve`. Deterministic: running it again
// produces the same bytes, and test/onnx/examples.test.ts checks the committed file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fraudDetectorModel } from '../lib/onnx/examples.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'model-repository', 'fraud-detector', '1', 'model.onnx');
mkdirSync(dirname(target), { recursive: true });
const { bytes } = fraudDetectorModel();
writeFileSync(target, bytes);
process.stdout.write(`wrote ${target} (${bytes.length} bytes)\n`);
