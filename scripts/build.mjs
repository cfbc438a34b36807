// Compiles constructs/ and lib/ (without lib/onnx, which only tests and benchmarks use) into
// build/ as JavaScript + .d.ts, copies the JSON Schemas and the gRPC .proto the compiled modules read, and writes
// the command list the compiled CLI's --help prints. Files that did not change are left alone,
// and changed ones are replaced atomically: tests read build/ while `npm pack` rebuilds it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function writeIfChanged(file, content) {
  let current;
  try {
    current = readFileSync(file);
  } catch {
    current = undefined;
  }
  if (current && Buffer.compare(current, Buffer.from(content)) === 0) return;
  writeFileSync(`${file}.${process.pid}.tmp`, content);
  renameSync(`${file}.${process.pid}.tmp`, file);
}

export async function build() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  // -b skips the compile when no input changed since the last build (a second or less).
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // Compiled modules read the JSON Schemas and the gRPC .proto relative to themselves.
  // build/schemas/crds/ serves the runtime image, which ships build/ only; the npm package leaves
  // it out (package.json files) and reads the root schemas/crds/.
  for (const dir of ['schemas', 'schemas/crds', 'proto']) {
    mkdirSync(join(root, 'build', dir), { recursive: true });
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isFile()) writeIfChanged(join(root, 'build', dir, entry.name), readFileSync(join(root, dir, entry.name)));
    }
  }
  const { commandManifest } = await import(new URL('../build/lib/cli/program.js', import.meta.url).href);
  writeIfChanged(join(root, 'build/lib/cli/commands.json'), `${JSON.stringify(await commandManifest(), null, 2)}\n`);
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
