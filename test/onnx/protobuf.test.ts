import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../../lib/onnx/protobuf.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ProtoWriter', () => {
  it('encodes varints as the protobuf spec examples do', () => {
    // GIVEN the spec's examples: field 1 = 150 is 08 96 01
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe('089601');
    expect(hex(new ProtoWriter().int(2, 0).finish())).toBe('1000');
    expect(hex(new ProtoWriter().int(1, 2 ** 53).finish())).toBe('088080808080808010');
  });

  it('encodes negative int64 as ten-byte two\'s complement', () => {
    expect(hex(new ProtoWriter().int(1, -1).finish())).toBe('08ffffffffffffffffff01');
  });

  it('encodes strings, floats and packed ints as length-delimited fields', () => {
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe('150000803f');
    expect(hex(new ProtoWriter().packedInts(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705');
  });

  it('grows past its initial buffer', () => {
    const big = new Uint8Array(10_000).fill(7);
    const out = new ProtoWriter().bytes(1, big).finish();
    expect(out.length).toBe(1 + 2 + 10_000);
    expect(out[out.length - 1]).toBe(7);
  });
});
