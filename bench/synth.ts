// npm run bench:synth — config repository synthesis at 10, 100 and 1000 models × 3 environments.
//
// Each measurement runs in a child process so its peak RSS is its own and module caches are
// cold like a CLI run. The floor is a plain cdk8s-plus app with the same number of
// Deployments and Services, synthesized with app.synth() (what `cdk8s synth` does).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { synth } from '../lib/compiler/synth.js';
import { formatTable } from '../lib/compiler/report.js';
import { BENCH_ENVIRONMENTS, benchModelName } from './platform-app.js';

const SELF = fileURLToPath(import.meta.url);
const APP = fileURLToPath(new URL('./platform-app.ts', import.meta.url));
const FLEET_APP = fileURLToPath(new URL('./fleet-app.ts', import.meta.url));

interface Measurement {
  readonly seconds: number;
  readonly maxRssMiB: number;
  readonly files?: number;
  readonly objects?: number;
}

async function child(mode: string, n: number, dir: string): Promise<Measurement> {
  process.env.SLIPWAY_BENCH_MODELS = String(n);
  const start = performance.now();
  let files: number | undefined;
  let objects: number | undefined;
  if (mode === 'floor') {
    const app = new App({ outdir: dir });
    for (const env of BENCH_ENVIRONMENTS) {
      for (let i = 0; i < n; i++) {
        const chart = new Chart(app, `${env}-${benchModelName(i)}`, { namespace: `bench-${env}` });
        const deployment = new kplus.Deployment(chart, 'deployment', {
          containers: [{ image: 'ghcr.io/example/runtime:1.0.0', portNumber: 8080, resources: {} }],
        });
        deployment.exposeViaService({ ports: [{ port: 8080 }] });
      }
    }
    app.synth();
  } else if (mode === 'fleet' || mode === 'fleet-baseline') {
    process.env.SLIPWAY_BENCH_FLEET = mode === 'fleet' ? 'fleet' : 'baseline';
    process.env.SLIPWAY_BENCH_SITES = String(n);
    process.env.SLIPWAY_BENCH_MODELS = process.env.SLIPWAY_BENCH_FLEET_MODELS ?? '10';
    const result = await synth({ app: FLEET_APP, repo: dir });
    files = result.changes.length;
    objects = result.applications.reduce((sum, a) => sum + a.objects, 0);
  } else {
    const result = await synth({ app: APP, repo: dir });
    files = result.changes.length;
    objects = result.applications.reduce((sum, a) => sum + a.objects, 0);
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, ...(files !== undefined ? { files } : {}), ...(objects !== undefined ? { objects } : {}) };
}

function run(mode: string, n: number, dir: string): Measurement {
  const out = execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child', mode, String(n), dir], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

/** Bytes of the repository's `.git` as slipway wrote it (objects, index, refs, render cache): what a clone of it holds and more. */
function repoBytes(dir: string): number {
  const walk = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? walk(join(d, e.name)) : statSync(join(d, e.name)).size), 0);
  return walk(join(dir, '.git'));
}

/**
 * A fleet of 1,000 sites × 10 models against its baseline, the same 10 models in one plain
 * environment (one cluster), measured in the same run: the fleet must cost what a few
 * environments cost, not what 1,000 do.
 */
function fleetRow(): string {
  const sites = Number(process.env.SLIPWAY_BENCH_FLEET_SITES ?? '1000');
  const models = process.env.SLIPWAY_BENCH_FLEET_MODELS ?? '10';
  const work = mkdtempSync(join(tmpdir(), 'slipway-bench-fleet-'));
  try {
    const base = run('fleet-baseline', sites, join(work, 'baseline'));
    const fleet = run('fleet', sites, join(work, 'fleet'));
    const rerun = run('fleet', sites, join(work, 'fleet'));
    if (rerun.files !== 0) throw new Error(`fleet re-run changed ${rerun.files} files: synthesis is not deterministic`);
    const baseBytes = repoBytes(join(work, 'baseline'));
    const fleetBytes = repoBytes(join(work, 'fleet'));
    const mib = (b: number) => (b / 1024 / 1024).toFixed(2);
    return formatTable(
      ['SITES', 'MODELS', 'OBJECTS', 'FILES', 'BASELINE s', 'FLEET SYNTH s', 'OVER BASELINE', 'RE-RUN s', 'BASELINE REPO MiB', 'FLEET REPO MiB', 'REPO/BASELINE', 'PEAK RSS MiB'],
      [[
        String(sites),
        models,
        String(fleet.objects),
        String(fleet.files),
        base.seconds.toFixed(2),
        fleet.seconds.toFixed(2),
        `${(fleet.seconds / base.seconds).toFixed(2)}×`,
        rerun.seconds.toFixed(2),
        mib(baseBytes),
        mib(fleetBytes),
        `${(fleetBytes / baseBytes).toFixed(2)}×`,
        fleet.maxRssMiB.toFixed(0),
      ]],
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.env.SLIPWAY_BENCH_FLEET_ONLY !== '1') await modelsTable();
  console.log(`\nFleet: ${process.env.SLIPWAY_BENCH_FLEET_SITES ?? '1000'} sites (a tenth GPU data centres) × ${process.env.SLIPWAY_BENCH_FLEET_MODELS ?? '10'} models, waves canary → 10% → 50% → 100%;`);
  console.log('baseline: the same models in one plain environment (one cluster). Repo = the .git folder as slipway wrote it.\n');
  console.log(fleetRow());
}

async function modelsTable(): Promise<void> {
  const sizes = (process.env.SLIPWAY_BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
  const rows: string[][] = [];
  for (const n of sizes) {
    const work = mkdtempSync(join(tmpdir(), `slipway-bench-${n}-`));
    try {
      const floor = run('floor', n, join(work, 'dist'));
      const first = run('synth', n, join(work, 'config-repo'));
      const rerun = run('synth', n, join(work, 'config-repo'));
      if (rerun.files !== 0) throw new Error(`re-run at N=${n} changed ${rerun.files} files: synthesis is not deterministic`);
      rows.push([
        String(n),
        String(n * BENCH_ENVIRONMENTS.length),
        String(first.objects),
        String(first.files),
        floor.seconds.toFixed(2),
        first.seconds.toFixed(2),
        `${(first.seconds / floor.seconds).toFixed(2)}×`,
        `${((first.seconds * 1000) / n).toFixed(1)}`,
        rerun.seconds.toFixed(2),
        `${(rerun.seconds / first.seconds).toFixed(2)}`,
        first.maxRssMiB.toFixed(0),
      ]);
      process.stderr.write(`N=${n} done\n`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  console.log(
    formatTable(
      ['MODELS', 'APPS', 'OBJECTS', 'FILES', 'CDK8S SYNTH s', 'SLIPWAY SYNTH s', 'OVER FLOOR', 'ms/MODEL', 'RE-RUN s', 'RE-RUN/FIRST', 'PEAK RSS MiB'],
      rows,
    ),
  );
  console.log('\nslipway synth = build + render + schema validation + kustomize checks + commit + working tree;');
  console.log('cdk8s synth floor = plain cdk8s-plus Deployment + Service per model and environment, app.synth() to disk.');
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  console.log(JSON.stringify(await child(args[1]!, Number(args[2]), args[3]!)));
} else {
  await main();
}
