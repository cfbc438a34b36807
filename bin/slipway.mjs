#!/usr/bin/env node
// Installed from npm, slipway runs its compiled CLI (build/lib/cli/main.js): no compilation at
// start-up. In a source checkout (lib/cli/main.ts next to this file) it runs the sources
// through tsx instead, so contributors and the tests that spawn it never run a stale build,
// and the checkout's own apps (which import ../constructs/*.ts) share one copy of each class
// with the CLI that loads them.
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const sourceEntry = new URL('lib/cli/main.ts', root);

if (existsSync(sourceEntry)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sourceEntry.href);
} else {
  await import(new URL('build/lib/cli/main.js', root).href);
}
