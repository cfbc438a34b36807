import { RETRAIN_ALERTS } from '../../lib/vocabulary/metrics.js';
import { AlertmanagerConfig } from '../imports/prometheus-operator.js';
import type { Construct } from 'constructs';
import type { ResolvedMonitorProps } from './props.js';

/** Name of the receiver inside the AlertmanagerConfig (the operator prefixes it with namespace/name/). */
export const RETRAIN_RECEIVER = 'retrain';

/**
 * Routes the alerts that retrain this model to the training EventListener. The operator adds a
 * `namespace` matcher of its own; the explicit one keeps the route right under matcher strategy None.
 */
export function renderAlertmanagerConfig(scope: Construct, r: ResolvedMonitorProps, name: string): AlertmanagerConfig | undefined {
  if (r.alertWebhookUrl === undefined) return undefined;
  return new AlertmanagerConfig(scope, 'AlertRoute', {
    metadata: { name, labels: r.labels },
    spec: {
      route: {
        receiver: RETRAIN_RECEIVER,
        // One notification per alert name: the listener maps each name to its own trigger.
        groupBy: ['alertname', 'model'],
        groupWait: '30s',
        groupInterval: '5m',
        repeatInterval: '4h',
        matchers: [
          { name: 'alertname', matchType: '=~', value: Object.values(RETRAIN_ALERTS).join('|') },
          { name: 'model', matchType: '=', value: r.model },
          { name: 'namespace', matchType: '=', value: r.namespace },
        ],
      },
      receivers: [{ name: RETRAIN_RECEIVER, webhookConfigs: [{ url: r.alertWebhookUrl, sendResolved: false }] }],
    },
  });
}
