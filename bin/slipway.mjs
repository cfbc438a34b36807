#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so `npx slipway`
// works straight after `npm ci`. The container image runs the compiled build instead.
import { register } from 'tsx/esm/api';

register();
await import('../lib/cli/main.ts');
