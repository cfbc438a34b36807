/**
 * The sha256 the runtime must find for each file it loads, by model name then file name
 * (`model.onnx`, `baseline.json`). The serving pod renders it from the build it serves; the
 * runtime refuses to become ready when a file differs.
 */
export type ExpectedSha256 = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** Environment variable (JSON of {@link ExpectedSha256}) the pod hands the runtime. */
export const EXPECTED_SHA256_ENV = 'SLIPWAY_EXPECTED_SHA256';
