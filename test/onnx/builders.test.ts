import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import {
  ALL_ELEM_TYPES, allTypesModel, corruptModelBytes, doubleModel, identityModel, mlpModel, mlpReference, seededRandom,
  unknownOperatorModel,
} from '../../lib/onnx/builders.js';

function randomInput(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random() * 4 - 2);
}

describe('mlpModel', () => {
  it.each([
    { gemm: false, softmax: true, sizes: [32, 256, 256, 2] },
    { gemm: true, softmax: false, sizes: [7, 5, 3] },
  ])('computes what a float64 reference computes (gemm=$gemm, softmax=$softmax)', async ({ gemm, softmax, sizes }) => {
    // GIVEN an MLP written by the ONNX writer
    const mlp = mlpModel({ sizes, gemm, softmax, seed: 7 });
    const session = await ort.InferenceSession.create(mlp.bytes);
    const rows = 5;
    const input = randomInput(rows * sizes[0]!, 3);
    // WHEN onnxruntime runs it
    const result = await session.run({ x: new ort.Tensor('float32', input, [rows, sizes[0]!]) });
    // THEN every output matches the JS reference forward pass
    const expected = mlpReference(mlp, input, rows);
    const got = result.y!.data as Float32Array;
    expect(result.y!.dims).toEqual([rows, sizes[sizes.length - 1]]);
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 4);
    if (softmax) for (let r = 0; r < rows; r++) expect(got[r * 2]! + got[r * 2 + 1]!).toBeCloseTo(1, 5);
    await session.release();
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = mlpModel({ sizes: [4, 3, 2], seed: 1 }).bytes;
    expect(Buffer.from(mlpModel({ sizes: [4, 3, 2], seed: 1 }).bytes).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(mlpModel({ sizes: [4, 3, 2], seed: 2 }).bytes).equals(Buffer.from(a))).toBe(false);
  });
});

describe('identity and all-types models', () => {
  it('declares every datatype with a symbolic batch dim', async () => {
    // GIVEN the all-types model WHEN loaded THEN onnxruntime sees one input and output per datatype
    const session = await ort.InferenceSession.create(allTypesModel());
    const types = session.inputMetadata.map((m) => (m.isTensor ? m.type : 'not-a-tensor'));
    expect(types).toEqual(['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'string']);
    expect(session.outputNames).toEqual(ALL_ELEM_TYPES.map((t) => `y_${t.toLowerCase()}`));
    const first = session.inputMetadata[0]!;
    expect(first.isTensor && first.shape).toEqual(['batch', 'n']);
    await session.release();
  });

  it('round-trips exact 64-bit integers and strings through Identity', async () => {
    const int64 = await ort.InferenceSession.create(identityModel('INT64'));
    const data = BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n, 0n]);
    const out = await int64.run({ x: new ort.Tensor('int64', data, [2, 2]) });
    expect(Array.from(out.y!.data as BigInt64Array)).toEqual(Array.from(data));
    const strings = await ort.InferenceSession.create(identityModel('STRING', [3]));
    const words = await strings.run({ x: new ort.Tensor('string', ['a', 'é', ''], [3]) });
    expect(words.y!.data).toEqual(['a', 'é', '']);
  });

  it('computes y = 2x in the double model', async () => {
    const session = await ort.InferenceSession.create(doubleModel());
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2.5, 3]), [1, 3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, -5, 6]);
  });
});

describe('models that must not load', () => {
  it('fails when the bytes are corrupt', async () => {
    await expect(ort.InferenceSession.create(corruptModelBytes())).rejects.toThrow(/protobuf parsing failed/);
  });

  it('fails when the graph uses an unknown operator', async () => {
    await expect(ort.InferenceSession.create(unknownOperatorModel())).rejects.toThrow(/SlipwayNoSuchOperator/);
  });
});
