import type { Tensor } from 'onnxruntime-node';
import { TENSOR_DATATYPES, type TensorDatatype } from '../vocabulary/tensors.js';

/** Open Inference Protocol tensor datatypes that ONNX models use: the vocabulary's, shared with the constructs. */
export const DATATYPES = TENSOR_DATATYPES;
export type Datatype = TensorDatatype;

export type NumericArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array;
/** What a tensor's elements live in: typed arrays for numbers, strings for BYTES. */
export type TensorData = NumericArray | string[];

export interface TypedArrayClass {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
}

export interface DatatypeInfo {
  datatype: Datatype;
  ortType: Tensor.Type;
  /** 0 for BYTES, whose elements are variable-length. */
  bytesPerElement: number;
  arrayClass?: TypedArrayClass;
  /** Integer range for JSON validation; undefined for floats, BOOL and BYTES. */
  range?: readonly [bigint, bigint];
}

const ranges = {
  UINT8: [0n, 255n], UINT16: [0n, 65535n], UINT32: [0n, 4294967295n], UINT64: [0n, 2n ** 64n - 1n],
  INT8: [-128n, 127n], INT16: [-32768n, 32767n], INT32: [-2147483648n, 2147483647n], INT64: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;

export const DATATYPE_INFO: Readonly<Record<Datatype, DatatypeInfo>> = {
  BOOL: { datatype: 'BOOL', ortType: 'bool', bytesPerElement: 1, arrayClass: Uint8Array },
  UINT8: { datatype: 'UINT8', ortType: 'uint8', bytesPerElement: 1, arrayClass: Uint8Array, range: ranges.UINT8 },
  UINT16: { datatype: 'UINT16', ortType: 'uint16', bytesPerElement: 2, arrayClass: Uint16Array, range: ranges.UINT16 },
  UINT32: { datatype: 'UINT32', ortType: 'uint32', bytesPerElement: 4, arrayClass: Uint32Array, range: ranges.UINT32 },
  UINT64: { datatype: 'UINT64', ortType: 'uint64', bytesPerElement: 8, arrayClass: BigUint64Array, range: ranges.UINT64 },
  INT8: { datatype: 'INT8', ortType: 'int8', bytesPerElement: 1, arrayClass: Int8Array, range: ranges.INT8 },
  INT16: { datatype: 'INT16', ortType: 'int16', bytesPerElement: 2, arrayClass: Int16Array, range: ranges.INT16 },
  INT32: { datatype: 'INT32', ortType: 'int32', bytesPerElement: 4, arrayClass: Int32Array, range: ranges.INT32 },
  INT64: { datatype: 'INT64', ortType: 'int64', bytesPerElement: 8, arrayClass: BigInt64Array, range: ranges.INT64 },
  // FP16 travels as raw IEEE half bits in a Uint16Array, which is what onnxruntime-node accepts on Node 20.
  FP16: { datatype: 'FP16', ortType: 'float16', bytesPerElement: 2, arrayClass: Uint16Array },
  FP32: { datatype: 'FP32', ortType: 'float32', bytesPerElement: 4, arrayClass: Float32Array },
  FP64: { datatype: 'FP64', ortType: 'float64', bytesPerElement: 8, arrayClass: Float64Array },
  BYTES: { datatype: 'BYTES', ortType: 'string', bytesPerElement: 0 },
};

const byOrtType = new Map<string, Datatype>(DATATYPES.map((d) => [DATATYPE_INFO[d].ortType, d]));

export function datatypeOfOrtType(ortType: string): Datatype | undefined {
  return byOrtType.get(ortType);
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPE_INFO as Record<string, unknown>)[value] !== undefined;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even (what numpy's astype(float16) does). */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = remainder > halfway || (remainder === halfway && (halfMantissa & 1)) ? halfMantissa + 1 : halfMantissa;
    return sign | rounded;
  }
  const halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  let bits = sign | (e << 10) | halfMantissa;
  if (remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1))) bits += 1; // may carry into the exponent: still correct
  return bits;
}

export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
