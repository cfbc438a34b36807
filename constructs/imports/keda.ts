// Typed L1s for KEDA (keda.sh/v1alpha1). `cdk8s import` needs the network, so these are
// written by hand; their spec types come from @kubernetes-models/keda, whose JSON Schemas
// the tests validate the synthesized objects against.
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';

export interface KedaScaledObjectProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: IScaledObject['spec'];
}

export class KedaScaledObject extends ApiObject {
  static readonly GVK = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject' } as const;

  constructor(scope: Construct, id: string, props: KedaScaledObjectProps) {
    super(scope, id, { ...KedaScaledObject.GVK, ...props });
  }
}
