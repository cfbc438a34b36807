/**
 * JSON parsing for request bodies and config files.
 *
 * `parseJsonFast` is the native JSON.parse: integers beyond 2^53 come back rounded.
 * `parseJsonExact` keeps them exact as bigint (INT64/UINT64 tensors must round-trip bit for
 * bit) and reports syntax errors with a position. Request decoding parses fast and reparses
 * exactly only when it meets an integer that JSON.parse may have rounded.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** Character offset where parsing failed, when known. */
    readonly position?: number,
  ) {
    super(position === undefined ? reason : `${reason} at position ${position}`);
  }
}

const MAX_DEPTH = 128;

export function parseJsonFast(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new JsonSyntaxError((err as Error).message);
  }
}

/** Integers outside Number's safe range become bigint; nesting is limited to 128 levels. */
export function parseJsonExact(text: string): JsonValue {
  return new LosslessParser(text).parseDocument();
}

class LosslessParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    const value = this.value(0);
    this.whitespace();
    if (this.pos !== this.text.length) this.fail('unexpected data after the JSON value');
    return value;
  }

  private fail(reason: string): never {
    throw new JsonSyntaxError(reason, this.pos);
  }

  private whitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.whitespace();
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(depth);
      case '[': return this.array(depth);
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return value;
  }

  private object(depth: number): { [key: string]: JsonValue } {
    const result: { [key: string]: JsonValue } = {};
    this.pos++;
    this.whitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.whitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      // defineProperty keeps a "__proto__" key an ordinary property, as JSON.parse does.
      Object.defineProperty(result, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.whitespace();
      const c = this.text[this.pos++];
      if (c === '}') return result;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): JsonValue[] {
    const result: JsonValue[] = [];
    this.pos++;
    this.whitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth + 1));
      this.whitespace();
      const c = this.text[this.pos++];
      if (c === ']') return result;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    const t = this.text;
    const start = ++this.pos;
    let out = '';
    let chunkStart = start;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(chunkStart, this.pos++);
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(chunkStart, this.pos);
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default: this.fail('invalid escape');
      }
      chunkStart = this.pos;
    }
    return this.fail('unterminated string');
  }

  private number(): number | bigint {
    const t = this.text;
    const start = this.pos;
    if (t[this.pos] === '-') this.pos++;
    const digits = (): number => {
      const from = this.pos;
      while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
      return this.pos - from;
    };
    const intStart = this.pos;
    const intDigits = digits();
    if (intDigits === 0) this.fail('invalid number');
    if (intDigits > 1 && t[intStart] === '0') {
      this.pos = intStart;
      this.fail('leading zero in number');
    }
    let integer = true;
    if (t[this.pos] === '.') {
      this.pos++;
      if (digits() === 0) this.fail('invalid fraction');
      integer = false;
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      if (digits() === 0) this.fail('invalid exponent');
      integer = false;
    }
    const token = t.slice(start, this.pos);
    if (!integer || intDigits < 16) return Number(token);
    const big = BigInt(token);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
}
