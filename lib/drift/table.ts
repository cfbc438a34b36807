import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { SlipwayError } from '../errors.js';

/** A cell as read: CSV gives strings, JSON Lines keeps its JSON scalar types. */
export type Cell = string | number | boolean | null;

export interface TableRow {
  /** 1-based line where the record starts. */
  readonly line: number;
  /** Cells in the order of `Table.columns`; an absent JSON key reads as null. */
  readonly cells: readonly Cell[];
  /** 1-based character column where the cell at `index` starts (for error messages). */
  columnOf(index: number): number;
}

export interface Table {
  readonly file: string;
  readonly format: 'csv' | 'jsonl';
  readonly columns: readonly string[];
  /** Bytes in the file, for progress. */
  readonly size: number;
  /** Bytes consumed so far. */
  readonly bytesRead: number;
  rows(): AsyncGenerator<TableRow>;
}

export function dataError(code: string, file: string, line: number, column: number | undefined, message: string): SlipwayError {
  const where = column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
  return new SlipwayError(code, `${where}: ${message}`, 1);
}

/**
 * Opens a CSV (RFC 4180) or JSON Lines file for streaming: only the current chunk
 * and record are in memory, so files larger than memory can be profiled.
 * The format follows the extension: .jsonl/.ndjson are JSON Lines, anything else CSV.
 */
export async function openTable(file: string): Promise<Table> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new SlipwayError('DRIFT_DATA_UNREADABLE', `${file}: cannot read data file: ${(err as Error).message}`, 1, { cause: err });
  }
  const ext = extname(file).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' ? openJsonLines(file, size) : openCsv(file, size);
}

class ByteCounter {
  bytesRead = 0;
}

async function* chunks(file: string, counter: ByteCounter): AsyncGenerator<string> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const decoder = new TextDecoder('utf-8', { fatal: false });
  try {
    for await (const buf of stream as AsyncIterable<Buffer>) {
      counter.bytesRead += buf.length;
      yield decoder.decode(buf, { stream: true });
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch (err) {
    throw new SlipwayError('DRIFT_DATA_UNREADABLE', `${file}: cannot read data file: ${(err as Error).message}`, 1, { cause: err });
  } finally {
    stream.destroy();
  }
}

interface CsvRecord {
  line: number;
  fields: string[];
  starts: number[];
  /** Column just past the last character of the record, for "too few fields". */
  endColumn: number;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** RFC 4180 tokenizer over decoded text chunks; records may span chunks and lines. */
export async function* csvRecords(source: AsyncIterable<string>, file: string): AsyncGenerator<CsvRecord> {
  let line = 1;
  let column = 1;
  let fields: string[] = [];
  let starts: number[] = [];
  let field = '';
  let recordLine = 1;
  // State: 0 = at field start, 1 = unquoted field, 2 = inside quotes, 3 = quote seen inside quotes
  let state = 0;
  let quoteLine = 0;
  let quoteColumn = 0;
  let pendingCr = false;
  // A CR LF pair inside quotes may straddle two chunks; count it as one line break.
  let quotedCr = false;
  let first = true;
  let fieldStarted = false;

  const endField = () => {
    fields.push(field);
    field = '';
    fieldStarted = false;
  };
  const isBlank = () => fields.length === 1 && fields[0] === '' && starts.length === 1;

  for await (let text of source) {
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (pendingCr) {
        pendingCr = false;
        if (c === LF) {
          i++;
          continue;
        }
      }
      if (state === 2) {
        // Fast path: copy up to the next quote.
        const q = text.indexOf('"', i);
        const end = q === -1 ? n : q;
        const chunk = text.slice(i, end);
        for (let k = 0; k < chunk.length; k++) {
          const ch = chunk.charCodeAt(k);
          if (ch === CR || (ch === LF && !quotedCr)) {
            line++;
            column = 1;
          } else if (ch !== LF) {
            column++;
          }
          quotedCr = ch === CR;
        }
        field += chunk;
        i = end;
        if (q !== -1) {
          state = 3;
          i++;
          column++;
        }
        continue;
      }
      if (state === 3) {
        if (c === QUOTE) {
          field += '"';
          state = 2;
          i++;
          column++;
          continue;
        }
        if (c !== COMMA && c !== LF && c !== CR) {
          throw dataError('DRIFT_CSV_SYNTAX', file, line, column,
            `expected a comma or end of line after the closing quote of the field opened at ${quoteLine}:${quoteColumn}, got ${JSON.stringify(text[i])}`);
        }
        state = 1;
        // fall through to delimiter handling below
      }
      if (state === 0) {
        starts.push(column);
        fieldStarted = true;
        if (fields.length === 0) recordLine = line;
        if (c === QUOTE) {
          state = 2;
          quotedCr = false;
          quoteLine = line;
          quoteColumn = column;
          i++;
          column++;
          continue;
        }
        state = 1;
      }
      // state 1: unquoted field (or just after a closing quote)
      if (c === COMMA) {
        endField();
        state = 0;
        i++;
        column++;
        continue;
      }
      if (c === LF || c === CR) {
        endField();
        if (!isBlank()) yield { line: recordLine, fields, starts, endColumn: column };
        fields = [];
        starts = [];
        state = 0;
        pendingCr = c === CR;
        i++;
        line++;
        column = 1;
        continue;
      }
      if (c === QUOTE) {
        throw dataError('DRIFT_CSV_SYNTAX', file, line, column,
          'unexpected quote inside an unquoted field (RFC 4180: quote the whole field and double inner quotes)');
      }
      // Unquoted run: copy up to the next delimiter in one slice.
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === COMMA || d === LF || d === CR || d === QUOTE) break;
        j++;
      }
      field += text.slice(i, j);
      column += j - i;
      i = j;
    }
  }
  if (state === 2) {
    throw dataError('DRIFT_CSV_SYNTAX', file, quoteLine, quoteColumn, 'unterminated quoted field: the closing quote is missing');
  }
  if (fieldStarted || fields.length > 0) {
    endField();
    if (!isBlank()) yield { line: recordLine, fields, starts, endColumn: column };
  }
}

async function openCsv(file: string, size: number): Promise<Table> {
  const counter = new ByteCounter();
  const records = csvRecords(chunks(file, counter), file);
  const first = await records.next();
  if (first.done) throw dataError('DRIFT_EMPTY_FILE', file, 1, 1, 'empty file: expected a header row naming the columns');
  const header = first.value;
  const seen = new Map<string, number>();
  const columns = header.fields.map((name, index) => {
    const trimmed = name.trim();
    if (trimmed === '') {
      throw dataError('DRIFT_CSV_HEADER', file, header.line, header.starts[index], `empty column name in the header (column ${index + 1})`);
    }
    if (seen.has(trimmed)) {
      throw dataError('DRIFT_CSV_HEADER', file, header.line, header.starts[index],
        `duplicate column name "${trimmed}" in the header (also column ${seen.get(trimmed)! + 1})`);
    }
    seen.set(trimmed, index);
    return trimmed;
  });
  return {
    file,
    format: 'csv',
    size,
    columns,
    get bytesRead() {
      return counter.bytesRead;
    },
    async *rows() {
      const width = columns.length;
      for await (const record of records) {
        if (record.fields.length !== width) {
          const column = record.fields.length < width ? record.endColumn : record.starts[width];
          throw dataError('DRIFT_RAGGED_ROW', file, record.line, column,
            `ragged row: expected ${width} fields as in the header (line ${header.line}), got ${record.fields.length}`);
        }
        const starts = record.starts;
        yield { line: record.line, cells: record.fields, columnOf: (index: number) => starts[index] ?? 1 };
      }
    },
  };
}

function openJsonLines(file: string, size: number): Promise<Table> {
  const counter = new ByteCounter();
  const lines = jsonLines(chunks(file, counter));
  let firstRecord: { line: number; text: string; value: Record<string, unknown> } | undefined;

  const parse = (line: number, text: string): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
      throw dataError('DRIFT_JSONL_SYNTAX', file, line, jsonErrorOffset(text) + 1, `invalid JSON: ${message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw dataError('DRIFT_JSONL_SYNTAX', file, line, 1, `expected a JSON object per line, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
    }
    return value as Record<string, unknown>;
  };

  const toRow = (line: number, text: string, value: Record<string, unknown>, columns: readonly string[]): TableRow => {
    const cells = columns.map((name, index): Cell => {
      const v = value[name];
      if (v === undefined || v === null) return null;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      throw dataError('DRIFT_WRONG_TYPE', file, line, keyColumn(text, columns[index]!),
        `column "${name}": expected a number, string or null, got ${Array.isArray(v) ? 'an array' : 'an object'}`);
    });
    return { line, cells, columnOf: (index: number) => keyColumn(text, columns[index]!) };
  };

  return (async () => {
    const first = await lines.next();
    if (first.done) throw dataError('DRIFT_EMPTY_FILE', file, 1, 1, 'empty file: expected JSON objects, one per line');
    firstRecord = { ...first.value, value: parse(first.value.line, first.value.text) };
    // The first record fixes the columns: later records may omit keys (missing values), extra keys are ignored.
    const columns = Object.keys(firstRecord.value);
    if (columns.length === 0) throw dataError('DRIFT_EMPTY_FILE', file, first.value.line, 1, 'the first record has no fields: it defines the columns');
    return {
      file,
      format: 'jsonl' as const,
      size,
      columns,
      get bytesRead() {
        return counter.bytesRead;
      },
      async *rows() {
        const head = firstRecord!;
        yield toRow(head.line, head.text, head.value, columns);
        for await (const { line, text } of lines) yield toRow(line, text, parse(line, text), columns);
      },
    };
  })();
}

/** Where `"key"` appears in a JSON line; the JSON parser gives no positions for values. */
function keyColumn(text: string, key: string): number {
  const index = text.indexOf(JSON.stringify(key));
  return index === -1 ? 1 : index + 1;
}

async function* jsonLines(source: AsyncIterable<string>): AsyncGenerator<{ line: number; text: string }> {
  let carry = '';
  let line = 0;
  for await (const text of source) {
    carry += text;
    let start = 0;
    for (;;) {
      const nl = carry.indexOf('\n', start);
      if (nl === -1) break;
      line++;
      const raw = carry.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (raw.trim() !== '') yield { line, text: line === 1 ? raw.replace(/^\uFEFF/, '') : raw };
    }
    carry = carry.slice(start);
  }
  line++;
  if (carry.trim() !== '') yield { line, text: line === 1 ? carry.replace(/^\uFEFF/, '') : carry };
}

/**
 * Offset of the first JSON syntax error in `text`. Only called after JSON.parse failed,
 * because Node 20's JSON.parse messages carry no position.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!number) fail();
    i += number![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : Math.min(i, text.length);
  } catch (offset) {
    return offset as number;
  }
}
