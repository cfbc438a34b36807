/** Ports of the slipway runtime; the Service, NetworkPolicy and probes use the same names. */
export const HTTP_PORT = 8080;
/** Open Inference Protocol over gRPC (KServe v2 / Triton). */
export const GRPC_PORT = 8081;
export const METRICS_PORT = 9091;
