import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlipwayError } from './errors.js';

export interface PackageInfo {
  /** Folder holding slipway's package.json: the checkout, or node_modules/slipway. */
  readonly root: string;
  readonly name: string;
  readonly version: string;
}

let cached: PackageInfo | undefined;

/**
 * slipway's own package.json. Modules run from lib/ (sources) and from build/lib/ (compiled),
 * at different depths, so it is found by walking up rather than by a fixed relative path.
 */
export function slipwayPackage(): PackageInfo {
  if (cached) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'slipway' && pkg.version) return (cached = { root: dir, name: pkg.name, version: pkg.version });
    }
    if (dirname(dir) === dir) throw new SlipwayError('INTERNAL_ERROR', `slipway's package.json not found above ${fileURLToPath(import.meta.url)}`);
  }
}
