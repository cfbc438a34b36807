import { errorId } from './error-catalog.js';

/**
 * Base for every error slipway reports to a user (ConstructValidationError, SpecFileError,
 * InferenceError … extend it). `code` is stable and machine readable and maps to a
 * `SLIPWAY_E####` id in lib/error-catalog.ts; `exitCode` is what the CLI exits with when the
 * error reaches it.
 */
export class SlipwayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
    // Not ErrorOptions: users compiling against older `lib` settings (cdk8s's template uses es2016) lack it.
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SlipwayError';
  }

  /** The stable id of {@link code}, `SLIPWAY_E####` (docs/errors.md). */
  get id(): string {
    return errorId(this.code);
  }
}
