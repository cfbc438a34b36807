/**
 * gRPC over HTTP/2 (h2c), served with node:http2 directly: unary and bidirectional-streaming
 * methods, length-prefixed messages, identity/gzip/deflate request compression, grpc-timeout
 * deadlines, trailers-only errors, a receive size limit, a per-connection stream limit, idle
 * connections closed, and a graceful close (GOAWAY).
 *
 * Why not grpc-js's server: its per-call machinery (call objects, interceptors, metadata, status
 * plumbing) cost about 95 µs of CPU per call on this project's bench machine, against about 58 µs
 * for a node:http2 handler answering the same bytes, and it was most of the gap between gRPC and
 * REST for small models. Clients are unaffected: the tests drive this server with grpc-js clients.
 * Wire format: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** A failure a method answers with: its status code and grpc-message. */
export class GrpcError extends Error {
  constructor(
    readonly code: GrpcStatusCode,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

interface Codec<Req, Res> {
  decode(bytes: Buffer): Req;
  encode(response: Res): Buffer;
}

export interface UnaryMethod<Req, Res> extends Codec<Req, Res> {
  kind: 'unary';
  handle(request: Req): Res | Promise<Res>;
}

/** One bidirectional stream as its method sees it. */
export interface StreamCall<Req, Res> {
  /** Each request message, in order. */
  onMessage(listener: (request: Req) => void): void;
  /** The client closed its half: no more messages. */
  onEnd(listener: () => void): void;
  /** Sends one response message (dropped once the stream is gone). */
  write(response: Res): void;
  /** Ends the stream with status OK. */
  end(): void;
}

export interface StreamMethod<Req, Res> extends Codec<Req, Res> {
  kind: 'stream';
  handle(call: StreamCall<Req, Res>): void;
}

export type GrpcMethod = UnaryMethod<never, never> | StreamMethod<never, never>;

/** How the server bounds its connections. */
export type GrpcConnectionLimits = Pick<GrpcServerOptions, 'maxConcurrentStreams' | 'connectionIdleMs'>;

export interface GrpcServerOptions {
  /** Fully qualified service name, e.g. inference.GRPCInferenceService. */
  service: string;
  methods: Readonly<Record<string, UnaryMethod<any, any> | StreamMethod<any, any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each method pairs its own request and response types
  /** Largest request message accepted, after decompression (RESOURCE_EXHAUSTED beyond). */
  maxReceiveMessageBytes: number;
  /**
   * Streams (calls) one connection may have open at once, announced in HTTP/2 SETTINGS: clients
   * queue calls beyond it.
   * @default DEFAULT_GRPC_MAX_CONCURRENT_STREAMS
   */
  maxConcurrentStreams?: number;
  /**
   * A connection that carries no frames for this long is closed gracefully (GOAWAY): calls still
   * open on it finish, new calls go to a new connection. 0 never closes one.
   * @default DEFAULT_GRPC_CONNECTION_IDLE_MS
   */
  connectionIdleMs?: number;
  /** A method threw something that is not a GrpcError (answered INTERNAL). */
  onInternalError(err: unknown): void;
}

/** As many calls on one connection as a busy client pipelines, and a bound for one that opens streams without end. */
export const DEFAULT_GRPC_MAX_CONCURRENT_STREAMS = 1000;
/** Five minutes, as load balancers commonly time out idle connections; a client that connects and never calls does not hold its connection for ever. */
export const DEFAULT_GRPC_CONNECTION_IDLE_MS = 300_000;

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const ACCEPT_ENCODING = 'identity,deflate,gzip';
const HEADER_BYTES = 5;
/** Per-stream receive window: 64 KiB (HTTP/2's default) made a 40 MiB request wait on ~640 window updates. */
const STREAM_WINDOW_BYTES = 1024 * 1024;
const SESSION_WINDOW_BYTES = 8 * 1024 * 1024;

const RESPONSE_HEADERS = {
  [http2.constants.HTTP2_HEADER_STATUS]: 200,
  [http2.constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': ACCEPT_ENCODING,
};

// gRPC has no use for HTTP's Date header, which node:http2 would format and HPACK-encode per call.
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false };
const RESPOND_TRAILERS_ONLY = { endStream: true, sendDate: false };
const OK_TRAILERS = { 'grpc-status': '0' };
const ignore = (): void => undefined;

/** grpc-message is percent-encoded: printable ASCII other than '%' goes as it is. */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** grpc-timeout: up to 8 digits and a unit (H, M, S, m, u, n); milliseconds, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  const scale = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[match[2] as 'H'];
  return Number(match[1]) * scale;
}

/** One length-prefixed message around `payload` (uncompressed). */
export function frameMessage(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * Splits the request byte stream into messages. Chunks are kept by reference until a message is
 * whole, so the common case (a message in one DATA chunk) is a view, never a copy.
 */
class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected: { compressed: boolean; length: number } | undefined;

  constructor(private readonly maxBytes: number) {}

  /** The messages `chunk` completes; throws RESOURCE_EXHAUSTED as soon as a length prefix is over the limit. */
  push(chunk: Buffer): Array<{ compressed: boolean; payload: Buffer }> {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Array<{ compressed: boolean; payload: Buffer }> = [];
    for (;;) {
      if (!this.expected) {
        if (this.buffered < HEADER_BYTES) break;
        const header = this.take(HEADER_BYTES);
        const length = header.readUInt32BE(1);
        if (length > this.maxBytes) throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${this.maxBytes})`);
        this.expected = { compressed: header[0] !== 0, length };
      }
      if (this.buffered < this.expected.length) break;
      messages.push({ compressed: this.expected.compressed, payload: this.take(this.expected.length) });
      this.expected = undefined;
    }
    return messages;
  }

  /** Bytes left over when the client ended its half: a truncated message. */
  get partial(): boolean {
    return this.expected !== undefined || this.buffered > 0;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.buffered -= n;
    return joined.subarray(0, n);
  }
}

/** One call's stream: at most one status, nothing written after it, nothing written to a stream the client reset. */
class Call {
  private headersSent = false;
  private done = false;
  private deadline: NodeJS.Timeout | undefined;
  /** The status, once decided, for the trailers after a streamed response. */
  private trailers: Record<string, string> | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    timeoutMs: number | undefined,
  ) {
    stream.on('error', ignore);
    if (timeoutMs !== undefined) {
      this.deadline = setTimeout(() => this.fail(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), timeoutMs);
      // A call the client cancelled must not keep its timer.
      stream.once('close', () => this.settle());
    }
  }

  get finished(): boolean {
    return this.done || this.stream.destroyed;
  }

  send(message: Buffer): void {
    if (this.finished) return;
    this.respond();
    this.stream.write(frameMessage(message));
  }

  /** The last message and status OK, in one write where the response is unary. */
  finish(message?: Buffer): void {
    if (this.finished) return;
    if (message && !this.headersSent) {
      this.settle();
      this.respond();
      this.stream.end(frameMessage(message));
      return;
    }
    if (message) this.send(message);
    this.status(GrpcStatus.OK, '');
  }

  /** The response headers, once; the trailers follow the last DATA frame (status OK unless one was decided). */
  private respond(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
    this.stream.on('wantTrailers', () => this.stream.sendTrailers(this.trailers ?? OK_TRAILERS));
  }

  fail(err: GrpcError): void {
    if (this.finished) return;
    this.status(err.code, err.message);
    // Stop reading a request that failed before it was whole (over the size limit, deadline).
    if (!this.stream.readableEnded) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }

  private status(code: GrpcStatusCode, message: string): void {
    const trailers = { 'grpc-status': String(code), ...(message ? { 'grpc-message': encodeGrpcMessage(message) } : {}) };
    this.settle();
    if (this.headersSent) {
      this.trailers = trailers;
      this.stream.end();
    } else {
      // Trailers-only: the status in the one HEADERS frame.
      this.headersSent = true;
      this.stream.respond({ ...RESPONSE_HEADERS, ...trailers }, RESPOND_TRAILERS_ONLY);
    }
  }

  private settle(): void {
    this.done = true;
    clearTimeout(this.deadline);
  }
}

async function decompress(message: { compressed: boolean; payload: Buffer }, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  if (!message.compressed) return message.payload;
  const options = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return await gunzip(message.payload, options);
    if (encoding === 'deflate') return await inflate(message.payload, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (decompressed beyond ${maxBytes})`);
    throw new GrpcError(GrpcStatus.INTERNAL, `Received a ${encoding} message that does not decompress: ${(err as Error).message}`);
  }
  throw new GrpcError(GrpcStatus.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding ?? 'identity'}"`);
}

export class GrpcServer {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly methods: ReadonlyMap<string, UnaryMethod<unknown, unknown> | StreamMethod<unknown, unknown>>;

  constructor(private readonly options: GrpcServerOptions) {
    this.methods = new Map(Object.entries(options.methods).map(([name, method]) => [`/${options.service}/${name}`, method]));
    this.server = http2.createServer({
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxConcurrentStreams: options.maxConcurrentStreams ?? DEFAULT_GRPC_MAX_CONCURRENT_STREAMS },
      // A message is buffered whole before it is decoded; the size limit, not nghttp2's default
      // 10 MiB of session memory, bounds it.
      maxSessionMemory: Math.max(10, Math.ceil((options.maxReceiveMessageBytes * 2) / 1e6)),
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', ignore);
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      const idleMs = options.connectionIdleMs ?? DEFAULT_GRPC_CONNECTION_IDLE_MS;
      // node:http2 re-arms the timer on every frame; a ping from a client's keepalive counts.
      if (idleMs > 0) session.setTimeout(idleMs, () => session.close());
    });
    this.server.on('sessionError', ignore);
    this.server.on('stream', (stream, headers) => this.dispatch(stream, headers));
  }

  /** Listens on host:port; resolves the bound port (0 picks one). Rejects with the socket error. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and sends GOAWAY: calls in flight finish, new ones go elsewhere. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
    for (const session of this.sessions) session.close();
  }

  /** Closes every connection now, calls in flight included. */
  destroy(): void {
    if (this.server.listening) this.server.close();
    for (const session of this.sessions) session.destroy();
  }

  private dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const contentType = headers[http2.constants.HTTP2_HEADER_CONTENT_TYPE];
    if (headers[http2.constants.HTTP2_HEADER_METHOD] !== 'POST' || typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.on('error', ignore);
      stream.respond({ [http2.constants.HTTP2_HEADER_STATUS]: 415, 'grpc-status': String(GrpcStatus.INTERNAL), 'grpc-message': 'gRPC requests are POST with content-type application/grpc' }, { endStream: true });
      return;
    }
    const call = new Call(stream, parseGrpcTimeout(headers['grpc-timeout'] as string | undefined));
    const path = headers[http2.constants.HTTP2_HEADER_PATH] as string;
    const method = this.methods.get(path);
    if (!method) return call.fail(new GrpcError(GrpcStatus.UNIMPLEMENTED, `The server does not implement the method ${path}`));
    const encoding = headers['grpc-encoding'] as string | undefined;
    const reader = new MessageReader(this.options.maxReceiveMessageBytes);
    if (method.kind === 'unary') this.unary(call, method, reader, encoding);
    else this.streaming(call, method, reader, encoding);
  }

  private unary(call: Call, method: UnaryMethod<unknown, unknown>, reader: MessageReader, encoding: string | undefined): void {
    const received: Array<{ compressed: boolean; payload: Buffer }> = [];
    call.stream.on('data', (chunk: Buffer) => {
      try {
        received.push(...reader.push(chunk));
      } catch (err) {
        call.fail(this.grpcError(err));
      }
    });
    call.stream.once('end', () => {
      if (call.finished) return;
      if (received.length !== 1 || reader.partial) {
        return call.fail(new GrpcError(GrpcStatus.INTERNAL, received.length === 0 ? 'Received no complete request message for a unary method' : 'Received more than one request message for a unary method'));
      }
      const message = received[0]!;
      const answer = (response: unknown) => call.finish(method.encode(response));
      const failed = (err: unknown) => call.fail(this.grpcError(err));
      if (message.compressed) {
        decompress(message, encoding, this.options.maxReceiveMessageBytes)
          .then((bytes) => method.handle(this.decode(method, bytes)))
          .then(answer, failed);
        return;
      }
      // Uncompressed (nearly every call): no promise of our own before the method's.
      try {
        const response = method.handle(this.decode(method, message.payload));
        if (response instanceof Promise) response.then(answer, failed);
        else answer(response);
      } catch (err) {
        failed(err);
      }
    });
  }

  private streaming(call: Call, method: StreamMethod<unknown, unknown>, reader: MessageReader, encoding: string | undefined): void {
    const messageListeners: Array<(request: unknown) => void> = [];
    const endListeners: Array<() => void> = [];
    // Decompression is asynchronous; a chain keeps the messages in order.
    let order = Promise.resolve();
    const deliver = (message: { compressed: boolean; payload: Buffer }) => {
      if (!message.compressed) {
        const request = this.decode(method, message.payload);
        for (const listener of messageListeners) listener(request);
        return;
      }
      order = order
        .then(async () => {
          const request = this.decode(method, await decompress(message, encoding, this.options.maxReceiveMessageBytes));
          for (const listener of messageListeners) listener(request);
        })
        .catch((err: unknown) => call.fail(this.grpcError(err)));
    };
    method.handle({
      onMessage: (listener) => messageListeners.push(listener),
      onEnd: (listener) => endListeners.push(listener),
      write: (response) => call.send(method.encode(response)),
      end: () => call.finish(),
    });
    call.stream.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) deliver(message);
      } catch (err) {
        call.fail(this.grpcError(err));
      }
    });
    call.stream.once('end', () => {
      void order.then(() => {
        if (call.finished) return;
        if (reader.partial) return call.fail(new GrpcError(GrpcStatus.INTERNAL, 'The request stream ended inside a message'));
        for (const listener of endListeners) listener();
      });
    });
  }

  private decode(method: Codec<unknown, unknown>, bytes: Buffer): unknown {
    try {
      return method.decode(bytes);
    } catch (err) {
      throw new GrpcError(GrpcStatus.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
    }
  }

  private grpcError(err: unknown): GrpcError {
    if (err instanceof GrpcError) return err;
    this.options.onInternalError(err);
    return new GrpcError(GrpcStatus.INTERNAL, 'internal error');
  }
}
