import { describe, expect, it } from 'vitest';
import { terminalProgress } from '../../lib/drift/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY, text: '', write(chunk: string) { stream.text += chunk; return true; } };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe('terminal progress', () => {
  it('draws a progress line on a terminal and clears it when done', () => {
    // GIVEN stderr is a TTY outside CI
    const stream = fakeStream(true);
    const progress = terminalProgress('baseline', stream, {})!;
    // WHEN half of the second of two passes is read
    progress.onProgress({ bytesRead: 50, size: 100, rows: 1234, pass: 2, passes: 2 });
    // THEN the line shows the pass, 75% overall and the rows
    expect(stream.text).toMatch(/^\rbaseline pass 2\/2 \[#{18}\.{6}\]  75%  1,234 rows  [\d,]+ rows\/s\x1b\[K$/);
    progress.done();
    expect(stream.text.endsWith('\r\x1b[K')).toBe(true);
  });

  it('stays silent when stderr is not a terminal or CI is set', () => {
    expect(terminalProgress('baseline', fakeStream(false), {})).toBeUndefined();
    expect(terminalProgress('baseline', fakeStream(true), { CI: 'true' })).toBeUndefined();
  });
});
