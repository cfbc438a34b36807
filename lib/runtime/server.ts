/** Listening sockets and graceful shutdown around a RuntimeApp. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeApp } from './app.js';

export interface ListenOptions {
  host: string;
  port: number;
  /** Also serve /metrics on this port (it is always on the main port). */
  metricsPort?: number;
  /** Longest time shutdown waits for in-flight requests before closing their connections. */
  gracePeriodMs: number;
}

export interface RunningServer {
  port: number;
  metricsPort?: number;
  /** Readiness off, stop accepting, drain in-flight requests (up to the grace period), unload models. */
  shutdown(reason: string): Promise<{ drained: boolean }>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
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
  const port = await listen(main, options.host, options.port);
  let metricsPort: number | undefined;
  try {
    metricsPort = metrics ? await listen(metrics, options.host, options.metricsPort!) : undefined;
  } catch (err) {
    await closeServer(main);
    throw err;
  }
  app.logger.log('info', 'server_listening', { host: options.host, port, metrics_port: metricsPort ?? null });

  let shuttingDown: Promise<{ drained: boolean }> | undefined;
  const shutdown = (reason: string): Promise<{ drained: boolean }> => {
    shuttingDown ??= (async () => {
      const started = performance.now();
      app.logger.log('info', 'shutdown_started', { reason, in_flight: app.inFlightRequests, grace_period_ms: options.gracePeriodMs });
      app.startDraining();
      const mainClosed = closeServer(main);
      main.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        app.whenIdle().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.gracePeriodMs))),
      ]);
      clearTimeout(timer);
      const abandoned = app.inFlightRequests;
      main.closeAllConnections();
      await mainClosed;
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
  return { port, ...(metricsPort !== undefined ? { metricsPort } : {}), shutdown };
}
