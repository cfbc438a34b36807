import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../../bin/slipway.mjs', import.meta.url).pathname;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `slipway` command (as CI would: no progress line) and returns its exit code and output. */
export async function slipway(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Debian's headless Chromium with a fresh profile under `workDir`, and without the background
 * networking this machine's closed network would refuse.
 */
export function chromium(workDir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const profile = mkdtempSync(join(workDir, 'chrome-'));
  return spawnSync('/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args,
  ], { encoding: 'utf8', timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
}

/**
 * Runs the CLI in this process (`main`), capturing what it writes; faster than a child process
 * and lets a test spy on modules. Leaves process.exitCode and the stream mocks as it found them.
 */
export async function slipwayInProcess(...args: string[]): Promise<CliResult> {
  const { vi } = await import('vitest');
  const { main } = await import('../../lib/cli/program.js');
  let stderr = '';
  let stdout = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const code = await main(['node', 'slipway', ...args]);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, stderr, stdout };
}
