import { isAbsolute, relative } from 'node:path';
import { SlipwayError } from '../errors.js';

/** One failure for all of an app's type errors, each line `file:line:column - error TS…: message`. */
export function typeErrors(appPath: string, errors: readonly string[]): SlipwayError {
  return new SlipwayError(
    'APP_TYPE_ERRORS',
    `${appPath}: ${errors.length} type error${errors.length === 1 ? '' : 's'} (pass --no-type-check to run the app anyway):\n` + errors.map((e) => `  ${e}`).join('\n'),
  );
}

export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
