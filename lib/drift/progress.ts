import type { Progress } from './dataset.js';

/**
 * A progress line on stderr for long reads, only for a person at a terminal: never in CI
 * logs or when stderr is redirected. Redrawn at most every 200 ms.
 */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr, env = process.env):
  { onProgress: (p: Progress) => void; done: () => void } | undefined {
  if (!stream.isTTY || env.CI) return undefined;
  const started = performance.now();
  let last = -Infinity;
  let drawn = false;
  return {
    onProgress(p) {
      const now = performance.now();
      if (now - last < 200 && p.bytesRead < p.size) return;
      last = now;
      const share = p.size > 0 ? p.bytesRead / p.size : 1;
      const overall = ((p.pass - 1) + share) / p.passes;
      const width = 24;
      const filled = Math.round(overall * width);
      const rate = p.rows / Math.max((now - started) / 1000, 1e-3);
      const pass = p.passes > 1 ? ` pass ${p.pass}/${p.passes}` : '';
      stream.write(`\r${label}${pass} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(overall * 100).toFixed(0).padStart(3)}%  ${p.rows.toLocaleString('en-US')} rows  ${Math.round(rate).toLocaleString('en-US')} rows/s\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
