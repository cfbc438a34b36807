import { SlipwayError } from '../errors.js';

/**
 * Runs `body` with process.exit() turned into an error: an app module that calls it during
 * synthesis would otherwise end slipway with status 0, no commit and the lock still taken.
 */
export async function withExitGuard<T>(appPath: string, body: () => Promise<T>): Promise<T> {
  const original = process.exit;
  process.exit = ((code?: number | string | null) => {
    throw new SlipwayError(
      'APP_EXITED',
      `${appPath} called process.exit(${code ?? ''}) during synthesis: an app module must only build constructs; ` +
        'throw an Error to report a problem',
    );
  }) as typeof process.exit;
  try {
    return await body();
  } finally {
    process.exit = original;
  }
}
