import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Every manifest of one kind under environments/<env>/ of a config repository. */
export function manifestsIn(configRepo: string, environment: string, kind: string): Array<Record<string, any>> {
  const root = join(configRepo, 'environments', environment);
  const found: Array<Record<string, any>> = [];
  for (const app of readdirSync(root, { withFileTypes: true })) {
    if (!app.isDirectory()) continue;
    for (const file of readdirSync(join(root, app.name))) {
      if (!file.endsWith('.yaml')) continue;
      const doc = parse(readFileSync(join(root, app.name, file), 'utf8')) as Record<string, any> | null;
      if (doc?.kind === kind) found.push(doc);
    }
  }
  return found;
}
