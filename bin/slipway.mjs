#!/usr/bin/env node
// Runs the compiled CLI (build/lib/cli/main.js): no compilation at start-up.
// In a source checkout (lib/cli/main.ts next to this file) a build that is missing or older
// than the sources would run stale code, so there the sources run through tsx instead;
// `npm run build` (also run by `npm ci`, `npm test` and `npm pack`) makes it fast again.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const sourceEntry = new URL('lib/cli/main.ts', root);

if (existsSync(sourceEntry) && buildIsStale()) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sourceEntry.href);
} else {
  await import(new URL('build/lib/cli/main.js', root).href);
}

function buildIsStale() {
  const stamp = new URL('build/.stamp', root);
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  const newer = (url) => {
    for (const entry of readdirSync(url, { withFileTypes: true })) {
      const child = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, url);
      if (entry.isDirectory() ? newer(child) : /\.(ts|json)$/.test(entry.name) && statSync(child).mtimeMs > built) return true;
    }
    return false;
  };
  return ['constructs/', 'lib/', 'schemas/'].some((dir) => newer(new URL(dir, root))) ||
    ['package.json', 'tsconfig.json', 'tsconfig.build.json'].some((f) => statSync(new URL(f, root)).mtimeMs > built);
}
