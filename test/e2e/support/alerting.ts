import { join } from 'node:path';
import { alertmanagerConfigsIn, operatorAlertmanagerYaml } from './alertmanager-config.js';
import { manifestsIn } from './config-repo.js';
import { type Service, startAlertmanager, startPrometheus } from './services.js';

export interface RepositoryAlertingOptions {
  readonly dir: string;
  readonly configRepo: string;
  readonly environment: string;
  /** The model whose PrometheusRule Prometheus evaluates. */
  readonly model: string;
  /** Webhook URLs as the cluster knows them → where the test listens. */
  readonly webhookUrls: Readonly<Record<string, string>>;
  readonly targets: ReadonlyArray<{ readonly address: string; readonly labels: Record<string, string> }>;
}

/**
 * What a cluster runs for an environment, as the config repository describes it: a real
 * Alertmanager routing as the AlertmanagerConfigs say (translated as prometheus-operator does)
 * and a real Prometheus evaluating the model's PrometheusRule. Only timing is shortened so a loop
 * fits in CI: each rule's `for:` becomes 2 s, Alertmanager's group waits 1 s.
 */
export async function startRepositoryAlerting(options: RepositoryAlertingOptions): Promise<{ alertmanager: Service; prometheus: Service }> {
  const rule = manifestsIn(options.configRepo, options.environment, 'PrometheusRule').find((m) => m.metadata.name === options.model);
  if (!rule) throw new Error(`no PrometheusRule ${options.model} in environments/${options.environment} of ${options.configRepo}`);
  const alertmanager = await startAlertmanager(
    join(options.dir, 'alertmanager'),
    operatorAlertmanagerYaml(alertmanagerConfigsIn(options.configRepo, options.environment), { webhookUrls: options.webhookUrls, groupWait: '1s', groupInterval: '1s' }),
  );
  try {
    const prometheus = await startPrometheus({
      dir: join(options.dir, 'prometheus'),
      alertmanagerUrl: alertmanager.url,
      targets: options.targets,
      ruleGroups: rule.spec.groups.map((g: { rules: Array<Record<string, unknown>> }) => ({ ...g, rules: g.rules.map((r) => ({ ...r, for: '2s' })) })),
    });
    return { alertmanager, prometheus };
  } catch (err) {
    await alertmanager.stop();
    throw err;
  }
}
