import { encodeModel, type Dim, type Initializer, type NodeSpec, type OnnxDataTypeName } from './model.js';

/** Deterministic PRNG (mulberry32): example models and benchmarks must be reproducible byte for byte. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A graph that passes one tensor through unchanged: the simplest round trip for a datatype. */
export function identityModel(elemType: OnnxDataTypeName, shape: readonly Dim[] = ['batch', 'n']): Uint8Array {
  return encodeModel({
    graph: {
      name: `identity_${elemType.toLowerCase()}`,
      nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
      inputs: [{ name: 'x', elemType, shape }],
      outputs: [{ name: 'y', elemType, shape }],
    },
  });
}

export const ALL_ELEM_TYPES: readonly OnnxDataTypeName[] = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FLOAT16', 'FLOAT', 'DOUBLE', 'STRING',
];

/**
 * One model with an input per datatype (`x_<type>`), each passed through to `y_<type>`,
 * plus `cast_<type>` outputs that go through a Cast to DOUBLE and back where ONNX allows,
 * so a single served model exercises every datatype and output selection.
 */
export function allTypesModel(shape: readonly Dim[] = ['batch', 'n']): Uint8Array {
  const nodes: NodeSpec[] = [];
  const inputs = [];
  const outputs = [];
  for (const t of ALL_ELEM_TYPES) {
    const lower = t.toLowerCase();
    inputs.push({ name: `x_${lower}`, elemType: t, shape });
    outputs.push({ name: `y_${lower}`, elemType: t, shape });
    nodes.push({ opType: 'Identity', inputs: [`x_${lower}`], outputs: [`y_${lower}`] });
  }
  return encodeModel({ graph: { name: 'all_types', nodes, inputs, outputs } });
}

/** `y = x * 2` over FP32, shape [batch, n]: small, numeric and batchable. */
export function doubleModel(shape: readonly Dim[] = ['batch', 'n']): Uint8Array {
  return encodeModel({
    graph: {
      name: 'double',
      nodes: [{ opType: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
      inputs: [{ name: 'x', elemType: 'FLOAT', shape }],
      outputs: [{ name: 'y', elemType: 'FLOAT', shape }],
    },
  });
}

export interface DenseLayer {
  /** Row-major [inputs, outputs]. */
  weight: Float32Array;
  bias: Float32Array;
  inputs: number;
  outputs: number;
}

export interface MlpSpec {
  /** Layer widths, input first: [32, 256, 256, 2]. */
  sizes: readonly number[];
  seed?: number;
  softmax?: boolean;
  /** Gemm nodes instead of MatMul + Add (both are common in exported models). */
  gemm?: boolean;
  inputName?: string;
  outputName?: string;
  /** Explicit weights (the example model sets meaningful ones); random Xavier-style otherwise. */
  layers?: readonly DenseLayer[];
}

export interface Mlp {
  bytes: Uint8Array;
  layers: readonly DenseLayer[];
  softmax: boolean;
}

function randomLayers(sizes: readonly number[], seed: number): DenseLayer[] {
  const random = seededRandom(seed);
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    const scale = Math.sqrt(6 / (inputs + outputs));
    const weight = new Float32Array(inputs * outputs);
    for (let i = 0; i < weight.length; i++) weight[i] = (random() * 2 - 1) * scale;
    const bias = new Float32Array(outputs);
    for (let i = 0; i < outputs; i++) bias[i] = (random() * 2 - 1) * 0.1;
    layers.push({ weight, bias, inputs, outputs });
  }
  return layers;
}

/** Dense layers with ReLU between them and an optional final softmax; input shape [batch, sizes[0]]. */
export function mlpModel(spec: MlpSpec): Mlp {
  const layers = spec.layers ?? randomLayers(spec.sizes, spec.seed ?? 1);
  const inputName = spec.inputName ?? 'x';
  const outputName = spec.outputName ?? 'y';
  const softmax = spec.softmax ?? false;
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  let current = inputName;
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    const w = `w${l}`;
    const b = `b${l}`;
    initializers.push({ name: w, elemType: 'FLOAT', dims: [layer.inputs, layer.outputs], values: layer.weight });
    initializers.push({ name: b, elemType: 'FLOAT', dims: [layer.outputs], values: layer.bias });
    const dense = last && !softmax ? outputName : `dense${l}`;
    if (spec.gemm) {
      nodes.push({ opType: 'Gemm', inputs: [current, w, b], outputs: [dense] });
    } else {
      nodes.push({ opType: 'MatMul', inputs: [current, w], outputs: [`matmul${l}`] });
      nodes.push({ opType: 'Add', inputs: [`matmul${l}`, b], outputs: [dense] });
    }
    current = dense;
    if (!last) {
      nodes.push({ opType: 'Relu', inputs: [current], outputs: [`relu${l}`] });
      current = `relu${l}`;
    }
  });
  if (softmax) nodes.push({ opType: 'Softmax', inputs: [current], outputs: [outputName], attributes: { axis: { kind: 'int', value: -1 } } });
  const inputs = layers[0]!.inputs;
  const outputs = layers[layers.length - 1]!.outputs;
  const bytes = encodeModel({
    graph: {
      name: 'mlp',
      nodes,
      initializers,
      inputs: [{ name: inputName, elemType: 'FLOAT', shape: ['batch', inputs] }],
      outputs: [{ name: outputName, elemType: 'FLOAT', shape: ['batch', outputs] }],
    },
  });
  return { bytes, layers, softmax };
}

/** Reference forward pass in float64 for checking what onnxruntime computes. */
export function mlpReference(mlp: Pick<Mlp, 'layers' | 'softmax'>, input: Float32Array, rows: number): Float64Array {
  let activations = Float64Array.from(input);
  mlp.layers.forEach((layer, l) => {
    const next = new Float64Array(rows * layer.outputs);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < layer.outputs; o++) {
        let sum = layer.bias[o]!;
        for (let i = 0; i < layer.inputs; i++) sum += activations[r * layer.inputs + i]! * layer.weight[i * layer.outputs + o]!;
        next[r * layer.outputs + o] = l < mlp.layers.length - 1 ? Math.max(0, sum) : sum;
      }
    }
    activations = next;
  });
  if (mlp.softmax) {
    const width = mlp.layers[mlp.layers.length - 1]!.outputs;
    for (let r = 0; r < rows; r++) {
      const row = activations.subarray(r * width, (r + 1) * width);
      const max = Math.max(...row);
      let total = 0;
      for (let i = 0; i < width; i++) total += row[i] = Math.exp(row[i]! - max);
      for (let i = 0; i < width; i++) row[i]! /= total;
    }
  }
  return activations;
}

/** A well-formed protobuf whose graph uses an operator no runtime knows: loading fails with a clear reason. */
export function unknownOperatorModel(): Uint8Array {
  return encodeModel({
    graph: {
      name: 'broken',
      nodes: [{ opType: 'SlipwayNoSuchOperator', inputs: ['x'], outputs: ['y'] }],
      inputs: [{ name: 'x', elemType: 'FLOAT', shape: ['batch', 1] }],
      outputs: [{ name: 'y', elemType: 'FLOAT', shape: ['batch', 1] }],
    },
  });
}

/** Bytes that are not an ONNX model at all (a truncated, garbled header). */
export function corruptModelBytes(): Uint8Array {
  const valid = doubleModel();
  const corrupt = valid.slice(0, Math.floor(valid.length / 2));
  corrupt[0] = 0xff;
  corrupt[1] = 0xff;
  return corrupt;
}

/** Fixed-shape FP32 model (no dynamic batch dim): batching must stay off for it. */
export function fixedShapeModel(): Uint8Array {
  return doubleModel([2, 3]);
}
