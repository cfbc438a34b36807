/**
 * The fast path of gRPC inference: ModelInferRequest with raw_input_contents read straight from
 * the wire, and ModelInferResponse with raw_output_contents written straight to it, without
 * protobufjs building and converting message objects per request. A request the fast path does not
 * cover (typed contents, parameters, negative or huge dimensions, fields it does not know) returns
 * undefined and takes protobufjs' general path, so both accept exactly the same messages.
 * Protocol buffers encoding: https://protobuf.dev/programming-guides/encoding/
 */

/**
 * What the fast path reads: a request whose inputs are all in raw_input_contents, with only the
 * fields it needs. A class, so the server tells it from protobufjs' messages with instanceof.
 */
export class RawInferMessage {
  model_name = '';
  model_version = '';
  id = '';
  readonly inputs: Array<{ name: string; datatype: string; shape: number[] }> = [];
  readonly outputs: string[] = [];
  readonly raw_input_contents: Buffer[] = [];
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint up to 2^53 (lengths, tags); larger or malformed: undefined. */
  varint(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8 && this.pos < this.end; i++) {
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return undefined;
  }

  /**
   * A shape dimension: a varint of at most 7 bytes (below 2^49), as a number. Negative dimensions
   * (10-byte two's complement) and huge ones: undefined, so the general path words their error.
   */
  dimension(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return undefined;
  }

  /** The bounds of a length-delimited field's payload, advancing past it. */
  span(): [number, number] | undefined {
    const length = this.varint();
    if (length === undefined || this.pos + length > this.end) return undefined;
    const start = this.pos;
    this.pos += length;
    return [start, this.pos];
  }

  string(): string | undefined {
    const span = this.span();
    return span && this.buf.toString('utf8', span[0], span[1]);
  }
}

function readInput(buf: Buffer, start: number, end: number): RawInferMessage['inputs'][number] | undefined {
  const r = new Reader(buf, start, end);
  const input: RawInferMessage['inputs'][number] = { name: '', datatype: '', shape: [] };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_BYTES) {
      const name = r.string();
      if (name === undefined) return undefined;
      input.name = name;
    } else if (field === 2 && wire === WIRE_BYTES) {
      const datatype = r.string();
      if (datatype === undefined) return undefined;
      input.datatype = datatype;
    } else if (field === 3 && wire === WIRE_BYTES) {
      const span = r.span();
      if (!span) return undefined;
      const dims = new Reader(buf, span[0], span[1]);
      while (dims.pos < span[1]) {
        const dim = dims.dimension();
        if (dim === undefined) return undefined;
        input.shape.push(dim);
      }
    } else if (field === 3 && wire === WIRE_VARINT) {
      const dim = r.dimension();
      if (dim === undefined) return undefined;
      input.shape.push(dim);
    } else {
      // parameters, contents or an unknown field: the general path.
      return undefined;
    }
  }
  return input;
}

/** An output's name; undefined when it has parameters (the general path). */
function readOutput(buf: Buffer, start: number, end: number): string | undefined {
  const r = new Reader(buf, start, end);
  let name = '';
  while (r.pos < end) {
    if (r.varint() !== 0x0a) return undefined; // field 1 (name) only
    const value = r.string();
    if (value === undefined) return undefined;
    name = value;
  }
  return name;
}

/** A ModelInferRequest whose inputs are all in raw_input_contents, or undefined for the general path. */
export function decodeRawInferRequest(buf: Buffer): RawInferMessage | undefined {
  const r = new Reader(buf, 0, buf.length);
  const message = new RawInferMessage();
  while (r.pos < buf.length) {
    const tag = r.varint();
    if (tag === undefined || (tag & 7) !== WIRE_BYTES) return undefined;
    const field = Math.floor(tag / 8);
    const span = r.span();
    if (!span) return undefined;
    switch (field) {
      case 1:
        message.model_name = buf.toString('utf8', span[0], span[1]);
        break;
      case 2:
        message.model_version = buf.toString('utf8', span[0], span[1]);
        break;
      case 3:
        message.id = buf.toString('utf8', span[0], span[1]);
        break;
      case 5: {
        const input = readInput(buf, span[0], span[1]);
        if (!input) return undefined;
        message.inputs.push(input);
        break;
      }
      case 6: {
        const output = readOutput(buf, span[0], span[1]);
        if (output === undefined) return undefined;
        message.outputs.push(output);
        break;
      }
      case 7:
        // A view, not a copy. It may share its ArrayBuffer with other HTTP/2 data; transfer.ts then
        // copies it before it moves to a session thread, as for any view that does not own its buffer.
        message.raw_input_contents.push(buf.subarray(span[0], span[1]));
        break;
      default:
        return undefined;
    }
  }
  return message.raw_input_contents.length > 0 ? message : undefined;
}

/** A response the fast path writes: raw outputs, no parameters. */
export interface RawInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; datatype: string; shape: readonly number[] }>;
  raw_output_contents: Uint8Array[];
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(value: number): void {
    while (value >= 128) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  bytes(field: number, length: number): void {
    this.varint(field * 8 + WIRE_BYTES);
    this.varint(length);
  }

  string(field: number, value: string, length: number): void {
    if (length === 0) return;
    this.bytes(field, length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }
}

/** Fields of one output tensor (name, datatype, packed shape): sizes first, then bytes. */
function outputSizes(output: RawInferResponse['outputs'][number]): { name: number; datatype: number; shape: number; body: number } {
  const name = Buffer.byteLength(output.name);
  const datatype = Buffer.byteLength(output.datatype);
  let shape = 0;
  for (const dim of output.shape) shape += varintSize(dim);
  const field = (length: number) => (length === 0 ? 0 : 1 + varintSize(length) + length);
  return { name, datatype, shape, body: field(name) + field(datatype) + field(shape) };
}

/** ModelInferResponse bytes, written once into one buffer. */
export function encodeRawInferResponse(response: RawInferResponse): Buffer {
  const name = Buffer.byteLength(response.model_name);
  const version = Buffer.byteLength(response.model_version);
  const id = Buffer.byteLength(response.id);
  const outputs = response.outputs.map(outputSizes);
  const field = (length: number) => 1 + varintSize(length) + length;
  let size = (name ? field(name) : 0) + (version ? field(version) : 0) + (id ? field(id) : 0);
  for (const o of outputs) size += field(o.body);
  for (const raw of response.raw_output_contents) size += field(raw.byteLength);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(1, response.model_name, name);
  w.string(2, response.model_version, version);
  w.string(3, response.id, id);
  response.outputs.forEach((output, i) => {
    const sizes = outputs[i]!;
    w.bytes(5, sizes.body);
    w.string(1, output.name, sizes.name);
    w.string(2, output.datatype, sizes.datatype);
    if (sizes.shape > 0) {
      w.bytes(3, sizes.shape);
      for (const dim of output.shape) w.varint(dim);
    }
  });
  for (const raw of response.raw_output_contents) {
    w.bytes(6, raw.byteLength);
    w.buf.set(raw, w.pos);
    w.pos += raw.byteLength;
  }
  return w.buf;
}
