// Compiles constructs/ and lib/ (without lib/onnx, which only tests and benchmarks use) into
// build/ as JavaScript + .d.ts, copies the JSON Schemas the compiled modules read, and stamps
// the time of the build.
import { execFileSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function build() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // -b skips the compile when no input changed since the last build (a second or less).
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  cpSync(new URL('../schemas', import.meta.url), new URL('../build/schemas', import.meta.url), { recursive: true });
  // The command list `slipway --help` prints without loading every command's dependencies.
  const { commandManifest } = await import(new URL('../build/lib/cli/program.js', import.meta.url).href);
  writeFileSync(new URL('../build/lib/cli/commands.json', import.meta.url), `${JSON.stringify(await commandManifest(), null, 2)}\n`);
  writeFileSync(new URL('../build/.stamp', import.meta.url), `${new Date().toISOString()}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await build();

/** vitest globalSetup: tests that use the compiled package (build/) see what the sources say, never a stale build. */
export async function setup() {
  try {
    await build();
  } catch (err) {
    // A type error somewhere must not stop unrelated tests from running; tsc still emitted what
    // it could, `tsc --noEmit` in npm test names the error, and the package tests fail on it.
    console.warn(`slipway: npm run build failed, tests that use build/ may fail: ${err.message}`);
  }
}
