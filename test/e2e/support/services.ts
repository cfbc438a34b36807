import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** A port nobody listens on right now (the OS picks it; we release it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** A process started by the test, with its output kept for failure messages. */
export class Service {
  private output = '';

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  get log(): string {
    return this.output;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((ok) => this.child.once('exit', () => ok()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }
}

export function startProcess(name: string, url: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Service {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Service(name, url, child);
}

async function ready(service: Service, path: string, timeoutMs = 30_000): Promise<Service> {
  await waitFor(
    `${service.name} at ${service.url}${path}`,
    async () => {
      if (service.exited) throw new Error(`${service.name} exited:\n${service.log.slice(-2000)}`);
      const res = await fetch(`${service.url}${path}`);
      return res.ok ? true : undefined;
    },
    timeoutMs,
    250,
  );
  return service;
}

export interface PrometheusOptions {
  readonly dir: string;
  readonly alertmanagerUrl: string;
  readonly targets: ReadonlyArray<{ readonly address: string; readonly labels: Record<string, string> }>;
  readonly ruleGroups: readonly unknown[];
}

/** A real Prometheus (Debian package `prometheus`) on loopback, scraping and evaluating every second. */
export async function startPrometheus(options: PrometheusOptions): Promise<Service> {
  const port = await freePort();
  mkdirSync(join(options.dir, 'data'), { recursive: true });
  writeFileSync(join(options.dir, 'rules.yaml'), stringify({ groups: options.ruleGroups }));
  writeFileSync(
    join(options.dir, 'prometheus.yaml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(options.dir, 'rules.yaml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(options.alertmanagerUrl).host] }] }] },
      scrape_configs: [
        {
          job_name: 'slipway-runtime',
          metrics_path: '/metrics',
          static_configs: options.targets.map((t) => ({ targets: [t.address], labels: t.labels })),
        },
      ],
    }),
  );
  const service = startProcess('prometheus', `http://127.0.0.1:${port}`, 'prometheus', [
    `--config.file=${join(options.dir, 'prometheus.yaml')}`,
    `--storage.tsdb.path=${join(options.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  return ready(service, '/-/ready');
}

/**
 * A real Alertmanager (Debian package `prometheus-alertmanager`) with the given configuration:
 * the one prometheus-operator generates from the config repository's AlertmanagerConfig objects
 * (support/alertmanager-config.ts), never a route written by the test.
 */
export async function startAlertmanager(dir: string, config: Record<string, unknown>): Promise<Service> {
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'alertmanager.yaml'), stringify(config));
  const service = startProcess('alertmanager', `http://127.0.0.1:${port}`, 'prometheus-alertmanager', [
    `--config.file=${join(dir, 'alertmanager.yaml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  return ready(service, '/-/ready');
}

export interface ReceivedWebhook {
  readonly path: string;
  readonly body: { status?: string; alerts?: Array<{ status?: string; labels?: Record<string, string> }> };
}

/** Stands in for the Tekton EventListener: records every webhook POSTed to it. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.received.push({ path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          res.writeHead(200).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  on(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}
