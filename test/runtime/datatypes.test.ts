import { describe, expect, it } from 'vitest';
import { DATATYPE_INFO, DATATYPES, datatypeOfOrtType, floatToHalfBits, halfBitsToFloat } from '../../lib/runtime/datatypes.js';

describe('FP16 conversion', () => {
  it.each([
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [-Infinity, 0xfc00], [0.1, 0x2e66],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], [-0, 0x8000], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
  ])('rounds %d to nearest-even bits 0x%s', (value, bits) => {
    expect(floatToHalfBits(value)).toBe(bits);
  });

  it('maps NaN to a quiet NaN', () => {
    expect(floatToHalfBits(NaN) & 0x7e00).toBe(0x7e00);
    expect(halfBitsToFloat(0x7e00)).toBeNaN();
  });

  it('round-trips every non-NaN half bit pattern exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue;
      if (floatToHalfBits(halfBitsToFloat(bits)) !== bits) throw new Error(`0x${bits.toString(16)} does not round-trip`);
    }
  });
});

describe('datatype table', () => {
  it('maps every protocol datatype to an onnxruntime type and back', () => {
    for (const dt of DATATYPES) expect(datatypeOfOrtType(DATATYPE_INFO[dt].ortType)).toBe(dt);
    expect(datatypeOfOrtType('int4')).toBeUndefined();
  });
});
