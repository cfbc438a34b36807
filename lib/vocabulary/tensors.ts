/** Tensor datatypes of the Open Inference Protocol that ONNX models use. */
export type TensorDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export const TENSOR_DATATYPES: readonly TensorDatatype[] = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
];

/** One input or output of a model's signature. */
export interface TensorSpec {
  /** Name of the tensor in the ONNX graph. */
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** Dimensions, -1 for a dynamic one (usually the batch dimension first). */
  readonly shape: readonly number[];
}
