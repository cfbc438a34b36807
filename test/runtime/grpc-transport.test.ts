// The gRPC transport over node:http2, driven by grpc-js clients (what users run) and, for what a
// well-behaved client never sends, by raw HTTP/2 requests.
import * as http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRPC_MAX_CONCURRENT_STREAMS, GrpcError, GrpcServer, GrpcStatus, encodeGrpcMessage, frameMessage, parseGrpcTimeout, type GrpcServerOptions, type StreamCall } from '../../lib/runtime/grpc-transport.js';

const MAX_BYTES = 256 * 1024;
const identity = (b: Buffer) => b;

/** An echo service: Echo answers its request, Fail fails with the status its request names, Slow answers after 300 ms, Chat echoes each message. */
function echoServer(internalErrors: unknown[], connections: Pick<GrpcServerOptions, 'maxConcurrentStreams' | 'connectionIdleMs'> = {}): GrpcServer {
  return new GrpcServer({
    ...connections,
    service: 'test.Echo',
    maxReceiveMessageBytes: MAX_BYTES,
    onInternalError: (err) => internalErrors.push(err),
    methods: {
      Echo: { kind: 'unary', decode: identity, encode: identity, handle: (request: Buffer) => request },
      Fail: {
        kind: 'unary', decode: (b) => b.toString(), encode: identity,
        handle: async (request: string) => {
          if (request === 'crash') throw new Error('a bug, not for the client');
          throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, request);
        },
      },
      Slow: { kind: 'unary', decode: identity, encode: identity, handle: (request: Buffer) => new Promise((resolve) => setTimeout(() => resolve(request), 300)) },
      Chat: {
        kind: 'stream', decode: identity, encode: identity,
        handle: (call: StreamCall<Buffer, Buffer>) => {
          call.onMessage((request) => call.write(Buffer.concat([Buffer.from('re:'), request])));
          call.onEnd(() => call.end());
        },
      },
    },
  });
}

function unary(client: grpc.Client, method: string, request: Buffer, options: grpc.CallOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(`/test.Echo/${method}`, identity, identity, request, new grpc.Metadata(), options, (err, response) => (err ? reject(err) : resolve(response!))),
  );
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (err: grpc.ServiceError) => ({ code: grpc.status[err.code], details: err.details }));

/** One raw HTTP/2 request: its response headers, body and trailers. */
function rawRequest(port: number, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ headers: responseHeaders, body: Buffer.concat(chunks), trailers });
    });
    req.end(body);
  });
}

describe('GrpcServer', () => {
  let server: GrpcServer;
  let port: number;
  let client: grpc.Client;
  const internalErrors: unknown[] = [];
  beforeAll(async () => {
    server = echoServer(internalErrors);
    port = await server.listen('127.0.0.1', 0);
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => {
    client?.close();
    server?.destroy();
  });

  it('answers unary calls from grpc-js: empty, small, and messages spanning many DATA frames', async () => {
    // GIVEN messages of 0 bytes, a few bytes and 200 KiB (HTTP/2 frames carry 16 KiB)
    const big = Buffer.alloc(200 * 1024, 7);
    // WHEN grpc-js sends each, and four at once on one connection
    const answers = await Promise.all([Buffer.alloc(0), Buffer.from('hello'), big, ...Array.from({ length: 4 }, (_, i) => Buffer.from(`m${i}`))].map((m) => unary(client, 'Echo', m)));
    // THEN each comes back whole
    expect(answers[0]!.length).toBe(0);
    expect(answers[1]!.toString()).toBe('hello');
    expect(answers[2]!.equals(big)).toBe(true);
    expect(answers.slice(3).map(String)).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  it('decompresses gzip and deflate requests', async () => {
    for (const algorithm of [1, 2]) {
      // GIVEN a client that compresses (1 deflate, 2 gzip)
      const compressing = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': algorithm });
      try {
        const message = Buffer.from('compress me '.repeat(100));
        // WHEN it calls Echo THEN the server read the message it meant
        expect((await unary(compressing, 'Echo', message)).equals(message)).toBe(true);
      } finally {
        compressing.close();
      }
    }
  });

  it('answers each message of a bidirectional stream in order and ends after the client does', async () => {
    const stream = client.makeBidiStreamRequest('/test.Echo/Chat', identity, identity);
    const answers: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (b: Buffer) => answers.push(b.toString()));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const m of ['a', '', 'c'.repeat(40_000)]) stream.write(Buffer.from(m));
    stream.end();
    await done;
    expect(answers).toEqual(['re:a', 're:', `re:${'c'.repeat(40_000)}`]);
  });

  it('fails with the method\'s status and message, percent-encoded on the wire and decoded by the client', async () => {
    const details = '100% wrong: "ünïcode"\nsecond line';
    expect(await failure(unary(client, 'Fail', Buffer.from(details)))).toEqual({ code: 'INVALID_ARGUMENT', details });
    const raw = await rawRequest(port, { ':path': '/test.Echo/Fail' }, frameMessage(Buffer.from('50%')));
    // Trailers-only: the status travels in the one HEADERS frame.
    expect(raw.headers).toMatchObject({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '3', 'grpc-message': '50%25' });
    expect(raw.body.length).toBe(0);
  });

  it('fails with INTERNAL and "internal error" when a method throws something else, and reports it', async () => {
    internalErrors.length = 0;
    expect(await failure(unary(client, 'Fail', Buffer.from('crash')))).toEqual({ code: 'INTERNAL', details: 'internal error' });
    expect(internalErrors).toEqual([new Error('a bug, not for the client')]);
  });

  it('fails with UNIMPLEMENTED for a method it does not serve', async () => {
    expect(await failure(unary(client, 'Nope', Buffer.alloc(0)))).toEqual({ code: 'UNIMPLEMENTED', details: 'The server does not implement the method /test.Echo/Nope' });
  });

  it('fails with RESOURCE_EXHAUSTED when a message is over the limit, compressed or not, and keeps serving', async () => {
    expect(await failure(unary(client, 'Echo', Buffer.alloc(MAX_BYTES + 1)))).toEqual({ code: 'RESOURCE_EXHAUSTED', details: `Received message larger than max (${MAX_BYTES + 1} vs. ${MAX_BYTES})` });
    // A small gzip that inflates past the limit.
    const bomb = gzipSync(Buffer.alloc(MAX_BYTES + 1));
    const header = Buffer.from([1, 0, 0, 0, 0]);
    header.writeUInt32BE(bomb.length, 1);
    const raw = await rawRequest(port, { ':path': '/test.Echo/Echo', 'grpc-encoding': 'gzip' }, Buffer.concat([header, bomb]));
    expect(raw.headers['grpc-status']).toBe(String(GrpcStatus.RESOURCE_EXHAUSTED));
    expect((await unary(client, 'Echo', Buffer.from('still here'))).toString()).toBe('still here');
  });

  it('fails with DEADLINE_EXCEEDED when grpc-timeout passes before the answer', async () => {
    const raw = await rawRequest(port, { ':path': '/test.Echo/Slow', 'grpc-timeout': '50m' }, frameMessage(Buffer.from('late')));
    expect(raw.headers).toMatchObject({ 'grpc-status': String(GrpcStatus.DEADLINE_EXCEEDED), 'grpc-message': 'Deadline exceeded' });
    // A deadline that leaves time answers.
    expect((await unary(client, 'Slow', Buffer.from('in time'), { deadline: Date.now() + 5_000 })).toString()).toBe('in time');
  });

  it('fails when the request is not a well-formed gRPC call', async () => {
    // Not gRPC at all: HTTP 415, as grpc-js's server answers.
    const json = await rawRequest(port, { ':path': '/test.Echo/Echo', 'content-type': 'application/json' }, Buffer.from('{}'));
    expect(json.headers[':status']).toBe(415);
    // An unknown compression.
    const snappy = await rawRequest(port, { ':path': '/test.Echo/Echo', 'grpc-encoding': 'snappy' }, Buffer.from([1, 0, 0, 0, 1, 0]));
    expect(snappy.headers).toMatchObject({ 'grpc-status': String(GrpcStatus.UNIMPLEMENTED), 'grpc-message': 'Received message compressed with unsupported encoding "snappy"' });
    // Two messages for a unary method, and a message cut short.
    const two = await rawRequest(port, { ':path': '/test.Echo/Echo' }, Buffer.concat([frameMessage(Buffer.from('a')), frameMessage(Buffer.from('b'))]));
    expect(two.headers).toMatchObject({ 'grpc-status': String(GrpcStatus.INTERNAL), 'grpc-message': 'Received more than one request message for a unary method' });
    const cut = await rawRequest(port, { ':path': '/test.Echo/Echo' }, frameMessage(Buffer.from('abc')).subarray(0, 6));
    expect(cut.headers).toMatchObject({ 'grpc-status': String(GrpcStatus.INTERNAL), 'grpc-message': 'Received no complete request message for a unary method' });
    const cutStream = await rawRequest(port, { ':path': '/test.Echo/Chat' }, Buffer.concat([frameMessage(Buffer.from('whole')), frameMessage(Buffer.from('abc')).subarray(0, 6)]));
    expect(cutStream.body.equals(frameMessage(Buffer.from('re:whole')))).toBe(true);
    expect(cutStream.trailers).toMatchObject({ 'grpc-status': String(GrpcStatus.INTERNAL), 'grpc-message': 'The request stream ended inside a message' });
  });

  it('drops the answer of a call the client cancelled, and keeps serving', async () => {
    const call = client.makeUnaryRequest('/test.Echo/Slow', identity, identity, Buffer.from('x'), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    call.cancel();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await unary(client, 'Echo', Buffer.from('after'))).toString()).toBe('after');
  });
});

describe('GrpcServer.stopAccepting', () => {
  it('lets calls in flight finish and takes no new connections', async () => {
    // GIVEN a server with a slow call in flight
    const server = echoServer([]);
    const port = await server.listen('127.0.0.1', 0);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const inFlight = unary(client, 'Slow', Buffer.from('finishing'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // WHEN it stops accepting
      server.stopAccepting();
      // THEN the call in flight answers, and a new client cannot connect
      expect((await inFlight).toString()).toBe('finishing');
      const late = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        expect(await failure(unary(late, 'Echo', Buffer.from('x'), { deadline: Date.now() + 2_000 }))).toMatchObject({ code: expect.stringMatching(/^(UNAVAILABLE|DEADLINE_EXCEEDED)$/) });
      } finally {
        late.close();
      }
    } finally {
      client.close();
      server.destroy();
    }
  });

  it('fails when the port is taken, with the socket error', async () => {
    const first = echoServer([]);
    const port = await first.listen('127.0.0.1', 0);
    const second = echoServer([]);
    try {
      await expect(second.listen('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});

describe('GrpcServer connections', () => {
  /** A raw HTTP/2 connection: the server's SETTINGS, and when it sent GOAWAY and closed. */
  function connect(port: number) {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const settings = new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
    const goaway = new Promise<number>((resolve) => session.once('goaway', () => resolve(performance.now())));
    const closed = new Promise<number>((resolve) => session.once('close', () => resolve(performance.now())));
    session.on('error', () => undefined);
    return { session, settings, goaway, closed };
  }

  it('announces its stream limit per connection: 1,000 by default, or the one given', async () => {
    const servers = [echoServer([]), echoServer([], { maxConcurrentStreams: 2 })];
    try {
      const limits = await Promise.all(servers.map(async (server) => {
        const connection = connect(await server.listen('127.0.0.1', 0));
        const { maxConcurrentStreams } = await connection.settings;
        connection.session.destroy();
        return maxConcurrentStreams;
      }));
      expect(limits).toEqual([DEFAULT_GRPC_MAX_CONCURRENT_STREAMS, 2]);
    } finally {
      for (const server of servers) server.destroy();
    }
  });

  it('closes a connection that never calls once it has been idle, and keeps one that does', async () => {
    // GIVEN a server that closes connections idle for 300 ms
    const server = echoServer([], { connectionIdleMs: 300 });
    const port = await server.listen('127.0.0.1', 0);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      // WHEN one client connects and sends nothing, while another calls every 100 ms
      const opened = performance.now();
      const silent = connect(port);
      for (let i = 0; i < 8; i++) {
        expect((await unary(client, 'Echo', Buffer.from(`call ${i}`))).toString()).toBe(`call ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // THEN the silent one got GOAWAY after about 300 ms, and the busy one answered throughout
      const goaway = await silent.goaway;
      expect(goaway - opened).toBeGreaterThanOrEqual(250);
      expect(goaway - opened).toBeLessThan(800);
      await silent.closed;
      expect(client.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    } finally {
      client.close();
      server.destroy();
    }
  });

  it('lets a call still running on an idle connection finish after GOAWAY', async () => {
    // GIVEN a server that closes connections idle for 100 ms
    const server = echoServer([], { connectionIdleMs: 100 });
    const port = await server.listen('127.0.0.1', 0);
    try {
      // WHEN a call on a raw connection takes 300 ms, with no frames meanwhile
      const connection = connect(port);
      const call = connection.session.request({ ':method': 'POST', ':path': '/test.Echo/Slow', 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      call.on('data', (chunk: Buffer) => chunks.push(chunk));
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => call.once('trailers', resolve));
      const answered = new Promise<number>((resolve) => call.once('close', () => resolve(performance.now())));
      call.end(frameMessage(Buffer.from('still here')));
      // THEN GOAWAY comes while it runs, and the call still answers OK before the connection closes
      const [goaway, done, closed] = await Promise.all([connection.goaway, answered, connection.closed]);
      expect(goaway).toBeLessThan(done);
      expect(done).toBeLessThanOrEqual(closed);
      expect((await trailers)['grpc-status']).toBe('0');
      expect(Buffer.concat(chunks)).toEqual(frameMessage(Buffer.from('still here')));
    } finally {
      server.destroy();
    }
  });
});

describe('gRPC wire helpers', () => {
  it('percent-encodes grpc-message outside printable ASCII and "%" only', () => {
    expect(encodeGrpcMessage('plain message: ok')).toBe('plain message: ok');
    expect(encodeGrpcMessage('50% ü\n')).toBe('50%25 %C3%BC%0A');
  });

  it('reads grpc-timeout in every unit, and nothing from a malformed one', () => {
    expect(['1H', '2M', '3S', '40m', '5000u', '7000000n'].map(parseGrpcTimeout)).toEqual([3_600_000, 120_000, 3_000, 40, 5, 7]);
    expect(['', '5', '123456789S', '1s', '-1S'].map(parseGrpcTimeout)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
