import { manifestsIn } from './config-repo.js';

interface Matcher {
  readonly name: string;
  readonly value?: string;
  readonly matchType?: '=' | '!=' | '=~' | '!~';
}

interface CrRoute {
  readonly receiver?: string;
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly matchers?: readonly Matcher[];
  readonly continue?: boolean;
  readonly routes?: readonly CrRoute[];
}

interface AlertmanagerConfigCr {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly route?: CrRoute;
    readonly receivers?: ReadonlyArray<{ readonly name: string; readonly webhookConfigs?: ReadonlyArray<{ readonly url?: string; readonly sendResolved?: boolean; readonly maxAlerts?: number }> }>;
  };
}

export interface TranslateOptions {
  /** Webhook URLs as the cluster knows them (the EventListener's Service) → where the test listens. */
  readonly webhookUrls: Readonly<Record<string, string>>;
  /**
   * Timing only, as the rules' `for:` is shortened: Alertmanager's grouping waits, so one test
   * does not wait 30 s before the first notification.
   */
  readonly groupWait?: string;
  readonly groupInterval?: string;
}

/** Every AlertmanagerConfig the config repository holds for an environment. */
export function alertmanagerConfigsIn(configRepo: string, environment: string): AlertmanagerConfigCr[] {
  return manifestsIn(configRepo, environment, 'AlertmanagerConfig').filter((doc) => String(doc.apiVersion).startsWith('monitoring.coreos.com/')) as unknown as AlertmanagerConfigCr[];
}

const quote = (v: string) => JSON.stringify(v);

/**
 * The alertmanager.yaml prometheus-operator generates from AlertmanagerConfig objects (matcher
 * strategy OnNamespace): the base route sends to the `null` receiver; each object becomes a
 * first-level route with `continue: true`, a `namespace="<its namespace>"` matcher ahead of its
 * own, and receivers renamed `<namespace>/<name>/<receiver>`.
 */
export function operatorAlertmanagerYaml(configs: readonly AlertmanagerConfigCr[], options: TranslateOptions): Record<string, unknown> {
  const receivers: Array<Record<string, unknown>> = [{ name: 'null' }];
  const routes: Array<Record<string, unknown>> = [];
  for (const cr of configs) {
    const { name, namespace } = cr.metadata;
    const prefix = (receiver: string) => `${namespace}/${name}/${receiver}`;
    const convert = (route: CrRoute, top: boolean): Record<string, unknown> => ({
      ...(route.receiver ? { receiver: prefix(route.receiver) } : {}),
      ...(route.groupBy ? { group_by: route.groupBy } : {}),
      ...(route.groupWait ? { group_wait: top && options.groupWait ? options.groupWait : route.groupWait } : {}),
      ...(route.groupInterval ? { group_interval: top && options.groupInterval ? options.groupInterval : route.groupInterval } : {}),
      ...(route.repeatInterval ? { repeat_interval: route.repeatInterval } : {}),
      matchers: [...(top ? [`namespace=${quote(namespace)}`] : []), ...(route.matchers ?? []).map((m) => `${m.name}${m.matchType ?? '='}${quote(m.value ?? '')}`)],
      // The operator forces continue on first-level routes so one object cannot starve the others.
      continue: top ? true : (route.continue ?? false),
      ...(route.routes?.length ? { routes: route.routes.map((r) => convert(r, false)) } : {}),
    });
    if (cr.spec.route) routes.push(convert(cr.spec.route, true));
    for (const receiver of cr.spec.receivers ?? []) {
      receivers.push({
        name: prefix(receiver.name),
        webhook_configs: (receiver.webhookConfigs ?? []).map((w) => {
          const url = w.url === undefined ? undefined : options.webhookUrls[w.url];
          if (url === undefined) throw new Error(`${namespace}/${name}: webhook ${w.url} has no local stand-in in webhookUrls`);
          return { url, send_resolved: w.sendResolved ?? true, ...(w.maxAlerts !== undefined ? { max_alerts: w.maxAlerts } : {}) };
        }),
      });
    }
  }
  return { route: { receiver: 'null', group_by: ['namespace'], routes }, receivers };
}
