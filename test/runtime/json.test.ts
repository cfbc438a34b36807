import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonExact, parseJsonFast } from '../../lib/runtime/json.js';

describe('parseJsonExact', () => {
  it('keeps integers beyond 2^53 exact as bigint and leaves the rest as numbers', () => {
    const parsed = parseJsonExact('{"a":[9007199254740993,-9223372036854775808,18446744073709551615,9007199254740991,1.2345678901234567,1e400,12345]}') as { a: unknown[] };
    expect(parsed.a).toEqual([9007199254740993n, -9223372036854775808n, 18446744073709551615n, 9007199254740991, 1.2345678901234567, Infinity, 12345]);
  });

  it('agrees with JSON.parse, except that it returns unsafe integers as exact bigints', () => {
    // Bigints appear only outside Number's safe range; as numbers they equal what JSON.parse returns.
    const asJsonParseWould = (v: unknown): unknown => {
      if (typeof v === 'bigint') {
        expect(Number.isSafeInteger(Number(v))).toBe(false);
        return Number(v);
      }
      if (Array.isArray(v)) return v.map(asJsonParseWould);
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJsonParseWould(x)]));
      return v;
    };
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value);
      expect(asJsonParseWould(parseJsonExact(text))).toEqual(JSON.parse(text));
      expect(parseJsonFast(text)).toEqual(JSON.parse(text));
    }), { numRuns: 500 });
  });

  it('treats "__proto__" as an ordinary key, like JSON.parse', () => {
    const parsed = parseJsonExact('{"__proto__": {"polluted": 1}, "n": 12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'n']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['[1,]', 'unexpected character "]" at position 3'],
    ['{"a" 1}', "expected ':' at position 5"],
    ['01', 'leading zero in number at position 0'],
    ['"abc', 'unterminated string at position 4'],
    ['[1] x', 'unexpected data after the JSON value at position 4'],
    ['"\\q"', 'invalid escape at position 3'],
  ])('fails on %s with the position', (text, message) => {
    expect(() => parseJsonExact(text)).toThrow(new JsonSyntaxError(message.replace(/ at position \d+$/, ''), Number(/\d+$/.exec(message)![0])));
  });

  it('fails on nesting deeper than 128 instead of overflowing the stack', () => {
    expect(() => parseJsonExact(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`)).toThrow(/nesting deeper than 128/);
  });
});
