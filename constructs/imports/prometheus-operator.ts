// Typed L1s for the Prometheus operator (monitoring.coreos.com/v1, v1alpha1); spec types from
// @kubernetes-models/prometheus-operator.
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IAlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';

export interface ServiceMonitorProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IServiceMonitor['spec'];
}

export class ServiceMonitor extends ApiObject {
  static readonly GVK = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' } as const;

  constructor(scope: Construct, id: string, props: ServiceMonitorProps) {
    super(scope, id, { ...ServiceMonitor.GVK, ...props });
  }
}

export interface PrometheusRuleProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IPrometheusRule['spec'];
}

export class PrometheusRule extends ApiObject {
  static readonly GVK = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' } as const;

  constructor(scope: Construct, id: string, props: PrometheusRuleProps) {
    super(scope, id, { ...PrometheusRule.GVK, ...props });
  }
}

export interface AlertmanagerConfigProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IAlertmanagerConfig['spec'];
}

export class AlertmanagerConfig extends ApiObject {
  static readonly GVK = { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig' } as const;

  constructor(scope: Construct, id: string, props: AlertmanagerConfigProps) {
    super(scope, id, { ...AlertmanagerConfig.GVK, ...props });
  }
}
