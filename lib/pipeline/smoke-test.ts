import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { TENSOR_DATATYPES, type TensorSpec } from '../vocabulary/tensors.js';

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface SmokeTestOptions {
  /** Base URL of the runtime, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly model: string;
  readonly signature: Signature;
  /** How long to wait for the model to become ready. */
  readonly readyTimeoutSeconds: number;
  /** Pause between readiness probes. */
  readonly pollMs?: number;
}

/** Parses `--signature` JSON ({inputs, outputs} with -1 for dynamic dimensions). */
export function parseSignature(text: string): Signature {
  let value: Signature;
  try {
    value = JSON.parse(text) as Signature;
  } catch (err) {
    throw new SlipwayError('PIPELINE_SIGNATURE_INVALID', `--signature: expected JSON {inputs, outputs}: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  for (const field of ['inputs', 'outputs'] as const) {
    const tensors = value?.[field];
    if (!Array.isArray(tensors) || tensors.length === 0) {
      problems.push(`${field}: expected a non-empty array of {name, datatype, shape}`);
      continue;
    }
    tensors.forEach((t, i) => {
      if (typeof t?.name !== 'string' || !TENSOR_DATATYPES.includes(t.datatype) || !Array.isArray(t.shape) || !(t.shape as unknown[]).every((d) => typeof d === 'number' && Number.isInteger(d) && (d === -1 || d >= 1))) {
        problems.push(`${field}[${i}]: expected {name, datatype (${TENSOR_DATATYPES.join(', ')}), shape (integers >= 1 or -1)}, got ${JSON.stringify(t)}`);
      }
    });
  }
  if (problems.length > 0) throw new SlipwayError('PIPELINE_SIGNATURE_INVALID', `--signature: ${problems.join('; ')}`);
  return value;
}

function sample(datatype: string, count: number): Array<number | boolean | string> {
  if (datatype === 'BOOL') return Array<boolean>(count).fill(false);
  if (datatype === 'BYTES') return Array<string>(count).fill('');
  return Array.from({ length: count }, (_, i) => (datatype.startsWith('FP') ? (i % 7) / 7 : i % 7));
}

async function waitReady(options: SmokeTestOptions): Promise<void> {
  const deadline = Date.now() + options.readyTimeoutSeconds * 1000;
  const url = `${options.url}/v2/models/${encodeURIComponent(options.model)}/ready`;
  let last = 'not listening';
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new SlipwayError('PIPELINE_SMOKE_TEST_FAILED', `model ${options.model} was not ready at ${options.url} within ${options.readyTimeoutSeconds}s (last answer: ${last})`);
    }
    await sleep(options.pollMs ?? 1000);
  }
}

/**
 * Waits for the built image's runtime, sends one request built from the signature (dynamic
 * dimensions as 1) and checks that every output comes back in the expected datatype and shape.
 */
export async function smokeTest(options: SmokeTestOptions): Promise<string> {
  await waitReady(options);
  const { model, signature } = options;
  const inputs = signature.inputs.map((t) => {
    const shape = t.shape.map((d) => (d < 0 ? 1 : d));
    return { name: t.name, datatype: t.datatype, shape, data: sample(t.datatype, shape.reduce((a, b) => a * b, 1)) };
  });
  const res = await fetch(`${options.url}/v2/models/${encodeURIComponent(model)}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new SlipwayError('PIPELINE_SMOKE_TEST_FAILED', `POST /v2/models/${model}/infer answered ${res.status}: ${text.slice(0, 500)}`);
  const outputs = ((JSON.parse(text) as { outputs?: Array<{ name: string; datatype: string; shape: number[] }> }).outputs ?? []);
  const problems: string[] = [];
  for (const want of signature.outputs) {
    const got = outputs.find((o) => o.name === want.name);
    if (!got) {
      problems.push(`output "${want.name}" is missing (got ${outputs.map((o) => o.name).join(', ') || 'none'})`);
      continue;
    }
    const expectedShape = want.shape.map((d) => (d < 0 ? 1 : d));
    if (JSON.stringify(got.shape) !== JSON.stringify(expectedShape)) problems.push(`output "${want.name}" has shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(expectedShape)}`);
    if (got.datatype !== want.datatype) problems.push(`output "${want.name}" has datatype ${got.datatype}, expected ${want.datatype}`);
  }
  if (problems.length > 0) throw new SlipwayError('PIPELINE_SMOKE_TEST_FAILED', problems.join('; '));
  return `${model} answered 200 with ${signature.outputs.map((o) => `${o.name}${JSON.stringify(o.shape)}`).join(', ')}`;
}
