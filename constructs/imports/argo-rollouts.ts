// Typed L1s for Argo Rollouts (argoproj.io/v1alpha1); spec types from @kubernetes-models/argo-rollouts.
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IAnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';

export interface ArgoRolloutProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IRollout['spec'];
}

export class ArgoRollout extends ApiObject {
  static readonly GVK = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' } as const;

  constructor(scope: Construct, id: string, props: ArgoRolloutProps) {
    super(scope, id, { ...ArgoRollout.GVK, ...props });
  }
}

export interface ArgoAnalysisTemplateProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IAnalysisTemplate['spec'];
}

export class ArgoAnalysisTemplate extends ApiObject {
  static readonly GVK = { apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplate' } as const;

  constructor(scope: Construct, id: string, props: ArgoAnalysisTemplateProps) {
    super(scope, id, { ...ArgoAnalysisTemplate.GVK, ...props });
  }
}
