/**
 * Base for every error slipway reports to a user. `code` is stable and machine
 * readable; `exitCode` is what the CLI exits with when the error reaches it.
 */
export class SlipwayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SlipwayError';
  }
}
