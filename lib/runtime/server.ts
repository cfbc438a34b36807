/** Listening sockets and graceful shutdown around a RuntimeApp. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlipwayError } from '../errors.js';
import type { RuntimeApp } from './app.js';
import type { GrpcConnectionLimits, GrpcServer } from './grpc-transport.js';

export interface ListenOptions {
  host: string;
  port: number;
  /** Also serve /metrics on this port (it is always on the main port). */
  metricsPort?: number;
  /** Serve the gRPC API (inference.GRPCInferenceService) on this port; absent: no gRPC. */
  grpcPort?: number;
  /** Largest gRPC message accepted (the REST body limit). */
  maxMessageBytes?: number;
  /** Streams per gRPC connection and how long an idle one stays open; absent ones take the transport's defaults. */
  grpcConnections?: GrpcConnectionLimits;
  /** Longest time shutdown waits for in-flight requests before closing their connections. */
  gracePeriodMs: number;
}

export interface RunningServer {
  port: number;
  metricsPort?: number;
  grpcPort?: number;
  /** Readiness off, stop accepting, drain in-flight requests (up to the grace period), unload models. */
  shutdown(reason: string): Promise<{ drained: boolean }>;
}

/** What a listen failure means for the flag that chose the port, in one line. */
export function listenError(err: NodeJS.ErrnoException, flag: string, host: string, port: number): SlipwayError {
  const where = `${flag} ${port}: cannot listen on ${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new SlipwayError('RUNTIME_PORT_IN_USE', `${where}: the port is already in use (another server, or another of slipway's ports)`, 1);
    case 'EACCES':
      return new SlipwayError('RUNTIME_PORT_DENIED', `${where}: permission denied (ports below 1024 need privileges)`, 1);
    case 'EADDRNOTAVAIL':
      return new SlipwayError('RUNTIME_HOST_UNAVAILABLE', `${where}: the address is not on this machine (--host)`, 1);
    default:
      return new SlipwayError('RUNTIME_LISTEN_FAILED', `${where}: ${err.message}`, 1);
  }
}

/** Two of slipway's ports set to the same number fail before anything listens. */
export function checkDistinctPorts(ports: ReadonlyArray<readonly [flag: string, port: number | undefined]>): void {
  const chosen = ports.filter((p): p is readonly [string, number] => p[1] !== undefined && p[1] !== 0);
  for (let i = 0; i < chosen.length; i++) {
    for (let j = i + 1; j < chosen.length; j++) {
      if (chosen[i]![1] === chosen[j]![1]) {
        throw new SlipwayError('RUNTIME_PORT_CONFLICT', `${chosen[j]![0]} ${chosen[j]![1]} is the same port as ${chosen[i]![0]}: give each its own port`, 1);
      }
    }
  }
}

function listen(server: Server, host: string, port: number, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, flag, host, port)));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startServer(app: RuntimeApp, options: ListenOptions): Promise<RunningServer> {
  const main = createServer({ keepAliveTimeout: 65_000 }, app.handle);
  const metrics = options.metricsPort === undefined ? undefined : createServer(app.handleMetrics);
  checkDistinctPorts([['--port', options.port], ['--metrics-port', options.metricsPort], ['--grpc-port', options.grpcPort]]);
  const port = await listen(main, options.host, options.port, '--port');
  let metricsPort: number | undefined;
  let grpcPort: number | undefined;
  let grpcServer: GrpcServer | undefined;
  try {
    metricsPort = metrics ? await listen(metrics, options.host, options.metricsPort!, '--metrics-port') : undefined;
    const requestedGrpcPort = options.grpcPort;
    if (requestedGrpcPort !== undefined) {
      // Imported once the main port is open: protobufjs and building the service from the .proto
      // take 75–95 ms, which models loading meanwhile need not wait for.
      const { createGrpcServer } = await import('./grpc.js');
      grpcServer = createGrpcServer(app.plane, app.repository, options.maxMessageBytes ?? 64 * 1024 * 1024, options.grpcConnections);
      grpcPort = await grpcServer.listen(options.host, requestedGrpcPort).catch((err: NodeJS.ErrnoException) => {
        throw listenError(err, '--grpc-port', options.host, requestedGrpcPort);
      });
    }
  } catch (err) {
    grpcServer?.destroy();
    if (metrics?.listening) await closeServer(metrics);
    await closeServer(main);
    throw err;
  }
  app.logger.log('info', 'server_listening', { host: options.host, port, metrics_port: metricsPort ?? null, grpc_port: grpcPort ?? null, pid: process.pid });

  let shuttingDown: Promise<{ drained: boolean }> | undefined;
  const shutdown = (reason: string): Promise<{ drained: boolean }> => {
    shuttingDown ??= (async () => {
      const started = performance.now();
      app.logger.log('info', 'shutdown_started', { reason, in_flight: app.inFlightRequests, grace_period_ms: options.gracePeriodMs });
      app.startDraining();
      const mainClosed = closeServer(main);
      main.closeIdleConnections();
      // gRPC stops taking new calls (GOAWAY); calls in flight finish within the grace period.
      grpcServer?.stopAccepting();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        app.whenIdle().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.gracePeriodMs))),
      ]);
      clearTimeout(timer);
      const abandoned = app.inFlightRequests;
      main.closeAllConnections();
      await mainClosed;
      grpcServer?.destroy();
      if (metrics) {
        const metricsClosed = closeServer(metrics);
        metrics.closeAllConnections();
        await metricsClosed;
      }
      await app.close();
      app.logger.log(drained ? 'info' : 'warn', 'shutdown_complete', {
        drained,
        abandoned_requests: abandoned,
        duration_ms: Math.round(performance.now() - started),
      });
      return { drained };
    })();
    return shuttingDown;
  };
  return { port, ...(metricsPort !== undefined ? { metricsPort } : {}), ...(grpcPort !== undefined ? { grpcPort } : {}), shutdown };
}
