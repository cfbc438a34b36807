import { SlipwayError } from '../errors.js';

const codeByStatus: Readonly<Record<number, string>> = {
  400: 'RUNTIME_BAD_REQUEST',
  404: 'RUNTIME_NOT_FOUND',
  405: 'RUNTIME_METHOD_NOT_ALLOWED',
  413: 'RUNTIME_PAYLOAD_TOO_LARGE',
  415: 'RUNTIME_UNSUPPORTED_ENCODING',
  499: 'RUNTIME_CLIENT_CLOSED',
  500: 'RUNTIME_INTERNAL',
  503: 'RUNTIME_UNAVAILABLE',
};

/** An error answered over HTTP as `{"error": message}` with `status`. */
export class InferenceError extends SlipwayError {
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
    /** A more specific catalog code than the status gives (lib/error-catalog.ts). */
    code?: string,
  ) {
    super(code ?? codeByStatus[status] ?? 'RUNTIME_ERROR', message, 1, options);
    this.name = 'InferenceError';
  }
}

export const badRequest = (message: string): InferenceError => new InferenceError(400, message);
