// The floor: the inference server people write by hand. node:http, JSON.parse, one
// session.run per request, JSON.stringify of the output; default session options.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

const [modelPath, modelName] = process.argv.slice(2) as [string, string];
const session = await ort.InferenceSession.create(modelPath);
const inputName = session.inputNames[0]!;
const outputName = session.outputNames[0]!;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const input = body.inputs[0];
      const tensor = new ort.Tensor('float32', Float32Array.from(input.data.flat(Infinity)), input.shape);
      const out = (await session.run({ [inputName]: tensor }))[outputName]!;
      const text = JSON.stringify({
        model_name: modelName,
        outputs: [{ name: outputName, datatype: 'FP32', shape: out.dims, data: Array.from(out.data as Float32Array) }],
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ event: 'server_listening', port: (server.address() as AddressInfo).port })}\n`));
