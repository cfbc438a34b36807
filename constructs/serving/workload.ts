import type { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { RUNTIME_METRICS } from '../../lib/vocabulary/metrics.js';
import { ArgoAnalysisTemplate, ArgoRollout } from '../imports/argo-rollouts.js';
import type { ScaleTarget } from './autoscaler.js';
import type { CanaryStep, ResolvedServingProps } from './props.js';

/**
 * The workload: a Deployment, or an Argo Rollout with an error-ratio analysis for canaries. No
 * `replicas`: the autoscaler owns it, and Argo CD would otherwise undo every scale-out.
 */
export function renderWorkload(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  selector: Record<string, string>,
  template: k8s.PodTemplateSpec,
  props: ResolvedServingProps,
  namespace: string,
): { workload: ApiObject; scaleTarget: ScaleTarget } {
  if (props.canary) {
    const requests = RUNTIME_METRICS.requests;
    const analysis = new ArgoAnalysisTemplate(scope, 'ErrorRatioAnalysis', {
      metadata: { name: `${props.name}-error-ratio`, labels: metadata.labels },
      spec: {
        args: [{ name: 'model' }, { name: 'namespace' }],
        metrics: [
          {
            name: 'error-ratio',
            interval: props.canary.analysisInterval,
            failureLimit: 1,
            // No traffic yet gives NaN; that is not a failure of the new version.
            successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] <= ${props.canary.maxErrorRatio}`,
            provider: {
              prometheus: {
                address: props.prometheusUrl,
                query:
                  `sum(rate(${requests}{model="{{args.model}}",namespace="{{args.namespace}}",status=~"5.."}[2m]))` +
                  ` / sum(rate(${requests}{model="{{args.model}}",namespace="{{args.namespace}}"}[2m]))`,
              },
            },
          },
        ],
      },
    });
    const workload = new ArgoRollout(scope, 'Resource', {
      metadata,
      spec: {
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: k8s.toJson_PodTemplateSpec(template),
        strategy: {
          canary: {
            steps: props.canary.steps.map(toRolloutStep),
            analysis: {
              templates: [{ templateName: analysis.name }],
              startingStep: 1,
              args: [
                { name: 'model', value: props.model.name },
                { name: 'namespace', value: namespace },
              ],
            },
          },
        },
      },
    });
    return { workload, scaleTarget: { apiVersion: ArgoRollout.GVK.apiVersion, kind: ArgoRollout.GVK.kind, name: workload.name } };
  }
  const workload = new k8s.KubeDeployment(scope, 'Resource', {
    metadata,
    spec: {
      revisionHistoryLimit: 3,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
      template,
    },
  });
  return { workload, scaleTarget: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload.name } };
}

function toRolloutStep(step: CanaryStep): { setWeight: number } | { pause: { duration?: string } } {
  if (step.setWeight !== undefined) return { setWeight: step.setWeight };
  return { pause: step.pause === 'manual' ? {} : { duration: step.pause } };
}
