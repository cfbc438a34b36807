import type { App } from 'cdk8s';
import { Environment, Fleet, ModelDeployment, type ModelDeploymentProps, Platform } from '../constructs/index.js';
import { benchModelProps } from './platform-app.js';

/**
 * The fleet benchmark: SLIPWAY_BENCH_SITES sites (a tenth of them GPU data centres, the rest edge
 * boxes) × SLIPWAY_BENCH_MODELS models, rolled out canary → 10% → 50% → 100%. With
 * SLIPWAY_BENCH_FLEET=baseline the same models go to one plain environment instead: one cluster.
 */
export default function build(app: App): void {
  const sites = Number(process.env.SLIPWAY_BENCH_SITES ?? '1000');
  const models = Number(process.env.SLIPWAY_BENCH_MODELS ?? '10');
  const platform = new Platform(app, 'bench', { repoURL: 'https://git.example.com/bench/config.git' });
  const props: ModelDeploymentProps[] = Array.from({ length: models }, (_, i) => benchModelProps(i));
  if (process.env.SLIPWAY_BENCH_FLEET === 'baseline') {
    const env = new Environment(platform, 'site');
    for (const p of props) new ModelDeployment(env, p.name, p);
    return;
  }
  new Fleet(platform, 'edge', {
    selector: { fleet: 'bench' },
    sites: Array.from({ length: sites }, (_, i) => ({
      name: `site-${String(i).padStart(4, '0')}`,
      labels: { fleet: 'bench', 'site-type': i % 10 === 0 ? 'dc' : 'edge', region: ['eu', 'us', 'ap'][i % 3]! },
    })),
    groups: [
      { name: 'edge', selector: { 'site-type': 'edge' }, overrides: { minReplicas: 1, maxReplicas: 1, cpu: '250m', memory: '256Mi' } },
      { name: 'gpu', selector: { 'site-type': 'dc' }, overrides: { gpu: { count: 1 } } },
    ],
    models: props,
    waves: [
      { name: 'canary', sites: ['site-0000', 'site-0001'] },
      { name: 'p10', percent: 10 },
      { name: 'p50', percent: 50 },
      { name: 'all', percent: 100 },
    ],
  });
}
