import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mlpReference } from '../../lib/onnx/builders.js';
import { FRAUD_FEATURES, fraudDetectorModel } from '../../lib/onnx/examples.js';

const committed = new URL('../../examples/model-repository/fraud-detector/1/model.onnx', import.meta.url);
// amount, hour, merchant_risk, distance_km, account_age_days, txn_count_24h
const typical = [60, 14, 0.2, 5, 900, 2];

async function fraudProbability(session: ort.InferenceSession, rows: number[][]): Promise<number[]> {
  const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 6]) });
  const data = out.probability!.data as Float32Array;
  return rows.map((_, r) => data[r * 2 + 1]!);
}

describe('fraud-detector example model', () => {
  it('is the committed file, byte for byte (scripts/make-example-model.ts regenerates it)', () => {
    const bytes = readFileSync(committed);
    expect(Buffer.from(fraudDetectorModel().bytes).equals(bytes)).toBe(true);
    expect(bytes.length).toBeLessThan(100 * 1024);
  });

  it('has the contract signature: features FP32 [-1,6] → probability FP32 [-1,2]', async () => {
    const session = await ort.InferenceSession.create(readFileSync(committed));
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probability']);
    expect(FRAUD_FEATURES).toHaveLength(6);
  });

  it('scores a typical transaction low and moves with each feature in the expected direction', async () => {
    // GIVEN a typical transaction and variants that change one feature
    const session = await ort.InferenceSession.create(readFileSync(committed));
    const variant = (feature: number, value: number) => typical.map((v, i) => (i === feature ? value : v));
    const [base, bigAmount, riskyMerchant, far, manyTxns, night, oldAccount, newAccount] = await fraudProbability(session, [
      typical, variant(0, 2000), variant(2, 0.95), variant(3, 800), variant(5, 25), variant(1, 3), variant(4, 3000), variant(4, 1),
    ]);
    // THEN the probabilities are valid and ordered as a fraud model's should be
    expect(base).toBeLessThan(0.1);
    for (const higher of [bigAmount, riskyMerchant, far, manyTxns, night, newAccount]) expect(higher).toBeGreaterThan(base!);
    expect(oldAccount).toBeLessThan(base!);
    expect(bigAmount).toBeGreaterThan(0.5);
    const reference = mlpReference(fraudDetectorModel(), Float32Array.from(typical), 1);
    expect(base).toBeCloseTo(reference[1]!, 5);
  });
});
