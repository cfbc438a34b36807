import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// Fixtures and scikit-learn's numbers for them: test/fixtures/performance/make-reference.py.
export const FIXTURES = resolve(import.meta.dirname, '../fixtures/performance');
export const REFERENCE = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8'));

export function fixture(name: string): number[][] {
  const [, ...lines] = readFileSync(join(FIXTURES, name), 'utf8').trim().split('\n');
  return lines.map((l) => l.split(',').map(Number));
}

