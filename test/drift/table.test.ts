import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvRecords, openTable, type Cell } from '../../lib/drift/table.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const file = (name: string, text: string) => {
  const path = join(dir, `${counter++}-${name}`);
  writeFileSync(path, text);
  return path;
};

async function readAll(path: string): Promise<{ columns: readonly string[]; rows: Array<{ line: number; cells: readonly Cell[] }> }> {
  const table = await openTable(path);
  const rows = [];
  for await (const row of table.rows()) rows.push({ line: row.line, cells: [...row.cells] });
  return { columns: table.columns, rows };
}

async function* pieces(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

describe('CSV reader (RFC 4180)', () => {
  it('reads quoted fields with commas, doubled quotes, line breaks and CRLF', async () => {
    // GIVEN a CSV using every RFC 4180 quoting rule, with CRLF line ends and a BOM
    const path = file('q.csv', '\uFEFFname,note,amount\r\n"a, b","say ""hi""",1.5\r\nc,"two\r\nlines",\r\n\r\nd,,-2e3');
    // WHEN read
    const { columns, rows } = await readAll(path);
    // THEN fields are unquoted, the blank line skipped and lines counted physically
    expect(columns).toEqual(['name', 'note', 'amount']);
    expect(rows).toEqual([
      { line: 2, cells: ['a, b', 'say "hi"', '1.5'] },
      { line: 3, cells: ['c', 'two\r\nlines', ''] },
      { line: 6, cells: ['d', '', '-2e3'] },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', async () => {
    // GIVEN a text split into chunks of every size from 1 to 7
    const text = 'a,b\n"x\r\ny","1,2"\r\n"q""",3\n';
    const whole = [];
    for await (const r of csvRecords(pieces(text, text.length), 't.csv')) whole.push(r);
    for (let size = 1; size <= 7; size++) {
      const split = [];
      for await (const r of csvRecords(pieces(text, size), 't.csv')) split.push(r);
      // THEN records, lines and columns are identical
      expect(split).toEqual(whole);
    }
    expect(whole.map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it('fails when a row is ragged, naming file, line and column', async () => {
    // GIVEN a row with one field too few on line 3
    const path = file('ragged.csv', 'a,b,c\n1,2,3\n4,5\n');
    // THEN the error names the line, the column where the row ends and the expected width
    await expect(readAll(path)).rejects.toThrow(`${path}:3:4: ragged row: expected 3 fields as in the header (line 1), got 2`);
    const extra = file('extra.csv', 'a,b\n1,2,3\n');
    await expect(readAll(extra)).rejects.toThrow(`${extra}:2:5: ragged row: expected 2 fields as in the header (line 1), got 3`);
  });

  it('fails when the file is empty', async () => {
    const path = file('empty.csv', '');
    await expect(readAll(path)).rejects.toThrow(`${path}:1:1: empty file: expected a header row naming the columns`);
  });

  it('fails when a quote is never closed, naming where it opened', async () => {
    const path = file('open.csv', 'a,b\n1,"oops\n2,3\n');
    await expect(readAll(path)).rejects.toThrow(`${path}:2:3: unterminated quoted field: the closing quote is missing`);
  });

  it('fails when a quote appears inside an unquoted field', async () => {
    const path = file('stray.csv', 'a,b\n1,ab"c\n');
    await expect(readAll(path)).rejects.toThrow(`${path}:2:5: unexpected quote inside an unquoted field`);
  });

  it('fails when the header repeats a column', async () => {
    const path = file('dup.csv', 'a,b,a\n1,2,3\n');
    await expect(readAll(path)).rejects.toThrow(`${path}:1:5: duplicate column name "a" in the header (also column 1)`);
  });
});

describe('JSON Lines reader', () => {
  it('takes columns from the first record and reads absent keys as missing', async () => {
    // GIVEN JSON Lines with a blank line, an absent key and a null
    const path = file('d.jsonl', '{"a": 1, "b": "x"}\n\n{"b": null}\n{"a": 2.5, "b": "y", "extra": true}\n');
    const { columns, rows } = await readAll(path);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 1, cells: [1, 'x'] },
      { line: 3, cells: [null, null] },
      { line: 4, cells: [2.5, 'y'] },
    ]);
  });

  it('fails when a line is not JSON, naming line and column', async () => {
    const path = file('bad.jsonl', '{"a": 1}\n{"a": }\n');
    await expect(readAll(path)).rejects.toThrow(new RegExp(`^${path.replaceAll('.', '\\.')}:2:7: invalid JSON`));
  });

  it('fails when a line holds an array instead of an object', async () => {
    const path = file('arr.jsonl', '{"a": 1}\n[1]\n');
    await expect(readAll(path)).rejects.toThrow(`${path}:2:1: expected a JSON object per line, got an array`);
  });

  it('fails when the file is empty', async () => {
    const path = file('empty.jsonl', '\n\n');
    await expect(readAll(path)).rejects.toThrow(`${path}:1:1: empty file: expected JSON objects, one per line`);
  });
});
