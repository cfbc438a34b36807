import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress } from '../../lib/compiler/progress.js';

function fakeStderr(isTTY: boolean): { stream: NodeJS.WriteStream; written: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  (stream as { isTTY?: boolean }).isTTY = isTTY;
  return { stream, written: () => text };
}

describe('Progress', () => {
  it('redraws one status line on a terminal and clears it at the end', () => {
    const { stream, written } = fakeStderr(true);
    const progress = new Progress(stream, true);
    progress.update('validating objects', 3, 3);
    progress.clear();
    expect(written()).toBe('\r\x1b[Kvalidating objects 3/3\r\x1b[K');
  });

  it('writes nothing when stderr is not a terminal or CI is set', () => {
    const pipe = fakeStderr(false);
    new Progress(pipe.stream).update('rendering');
    expect(pipe.written()).toBe('');
    const saved = process.env.CI;
    process.env.CI = 'true';
    try {
      const tty = fakeStderr(true);
      const progress = new Progress(tty.stream);
      progress.update('rendering');
      progress.clear();
      expect(tty.written()).toBe('');
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});
