import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type Service, startProcess, waitFor } from './services.js';

const BIN = join(import.meta.dirname, '../../../bin/slipway.mjs');

interface Container {
  args: string[];
  env?: Array<{ name: string; value?: string }>;
}

/** What a site's Deployment says: the version, the runtime's flags and environment. */
interface Desired {
  readonly version: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * One edge site standing in for a cluster that Argo CD syncs: it reads its site file and the
 * Deployment of its wave and group from the config repository's working tree, and runs a real
 * `slipway serve` with that Deployment's flags and environment (the expected sha256 included),
 * restarting it when the Deployment changes, as a rollout would. `artifacts` plays the image
 * registry: the model file of each sha256.
 */
export class Site {
  /** Ports of the running runtime (it picks free ones itself, so restarts never race other tests for a port). */
  port = 0;
  metricsPort = 0;
  private running?: { desired: Desired; service: Service };
  // Like a Service's endpoints: traffic only reaches a runtime once its readiness probe passes.
  private ready = false;
  wave = '';
  group = '';

  constructor(
    readonly name: string,
    private readonly configRepo: string,
    private readonly fleet: string,
    private readonly dir: string,
    private readonly artifacts: ReadonlyMap<string, Uint8Array>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get version(): string | undefined {
    return this.running?.desired.version;
  }

  /** This site's entry in its wave's sites file (what the ApplicationSet's git generator reads). */
  private siteEntry(): { wave: string; group: string } {
    const waves = join(this.configRepo, 'fleets', this.fleet, 'waves');
    for (const wave of readdirSync(waves)) {
      const entries = parse(readFileSync(join(waves, wave, 'sites.yaml'), 'utf8')) as Array<{ site: string; wave: string; group: string }>;
      const found = entries.find((e) => e.site === this.name);
      if (found) return found;
    }
    throw new Error(`${this.name} is in no wave's sites.yaml`);
  }

  private desired(model: string): Desired {
    const site = this.siteEntry();
    this.wave = site.wave;
    this.group = site.group;
    const deployment = parse(
      readFileSync(join(this.configRepo, 'fleets', this.fleet, 'waves', site.wave, `${site.group}-${model}`, `deployment-${model}.yaml`), 'utf8'),
    ) as { metadata: { labels: Record<string, string> }; spec: { template: { spec: { containers: Container[] } } } };
    const container = deployment.spec.template.spec.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    return { version: deployment.metadata.labels['app.kubernetes.io/version']!, args: container.args, env };
  }

  /** Brings the site to what its wave's folder says; resolves once the runtime is ready. */
  async sync(model: string): Promise<boolean> {
    const desired = this.desired(model);
    if (this.running && JSON.stringify(this.running.desired) === JSON.stringify(desired)) return false;
    this.ready = false;
    await this.running?.service.stop();
    const expected = (JSON.parse(desired.env.SLIPWAY_EXPECTED_SHA256!) as Record<string, Record<string, string>>)[model]!['model.onnx']!;
    const bytes = this.artifacts.get(expected);
    if (!bytes) throw new Error(`${this.name}: no artifact with sha256 ${expected}`);
    // The image's model repository: /models/<model>/<version>/model.onnx.
    const repository = join(this.dir, 'models');
    rmSync(repository, { recursive: true, force: true });
    mkdirSync(join(repository, model, desired.version), { recursive: true });
    writeFileSync(join(repository, model, desired.version, 'model.onnx'), bytes);
    const args = desired.args.map((a, i, all) => {
      const flag = all[i - 1];
      if (flag === '--model-repository') return repository;
      if (flag === '--host') return '127.0.0.1';
      return a;
    });
    const patched = replaceFlag(replaceFlag(args, '--port', '0'), '--metrics-port', '0');
    const service = startProcess(this.name, '', process.execPath, [BIN, ...patched, '--grpc-port', '0'], {
      ...process.env,
      ...desired.env,
      SLIPWAY_MODEL_REPOSITORY: repository,
      SLIPWAY_INTRA_OP_THREADS: '1',
    });
    this.running = { desired, service };
    const listening = await waitFor(`${this.name} to listen`, async () => {
      if (service.exited) throw new Error(`${this.name} exited:\n${service.log.slice(-2000)}`);
      const line = service.log.split('\n').find((l) => l.includes('"server_listening"'));
      return line ? (JSON.parse(line) as { port: number; metrics_port: number }) : undefined;
    }, 60_000, 100);
    this.port = listening.port;
    this.metricsPort = listening.metrics_port;
    await waitFor(`${this.name} to be ready`, async () => {
      if (service.exited) throw new Error(`${this.name} exited:\n${service.log.slice(-2000)}`);
      return (await fetch(`${this.url}/v2/health/ready`)).ok ? true : undefined;
    }, 60_000, 200);
    this.ready = true;
    return true;
  }

  async infer(model: string, row: readonly number[]): Promise<number> {
    if (!this.running || !this.ready) return 0;
    try {
      const res = await fetch(`${this.url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, row.length], data: row }] }),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  async stop(): Promise<void> {
    await this.running?.service.stop();
  }
}

function replaceFlag(args: readonly string[], flag: string, value: string): string[] {
  const out = [...args];
  const i = out.indexOf(flag);
  if (i >= 0) out[i + 1] = value;
  else out.push(flag, value);
  return out;
}
