// Typed L1s for Tekton Pipelines (tekton.dev/v1) and Tekton Triggers (triggers.tekton.dev/v1beta1).
// No @kubernetes-models package covers Tekton and `cdk8s import` needs the network, so the types
// are written by hand after the Go API types (pkg/apis/pipeline/v1, pkg/apis/triggers/v1beta1),
// for the fields slipway emits. Core Kubernetes types come from kubernetes-models.
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';
import type {
  IAffinity,
  IEnvVar,
  IPersistentVolumeClaimSpec,
  IPodSecurityContext,
  IProbe,
  IResourceRequirements,
  ISecretVolumeSource,
  ISecurityContext,
  IToleration,
  IVolume,
  IVolumeMount,
} from 'kubernetes-models/v1';

// ---------------------------------------------------------------------------------------------
// tekton.dev/v1

export type TektonParamType = 'string' | 'array' | 'object';

export interface TektonParamSpec {
  readonly name: string;
  readonly type?: TektonParamType;
  readonly description?: string;
  readonly default?: string | readonly string[] | Readonly<Record<string, string>>;
}

export interface TektonParam {
  readonly name: string;
  readonly value: string | readonly string[] | Readonly<Record<string, string>>;
}

export interface TektonTaskResult {
  readonly name: string;
  readonly type?: 'string' | 'array' | 'object';
  readonly description?: string;
}

export interface TektonWorkspaceDeclaration {
  readonly name: string;
  readonly description?: string;
  readonly mountPath?: string;
  readonly readOnly?: boolean;
  readonly optional?: boolean;
}

export interface TektonStep {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  /** Run by the step's shell; starts with a hashbang. */
  readonly script?: string;
  readonly workingDir?: string;
  readonly env?: readonly IEnvVar[];
  readonly computeResources?: IResourceRequirements;
  readonly securityContext?: ISecurityContext;
  readonly volumeMounts?: readonly IVolumeMount[];
  /** Go duration, e.g. `30m`. */
  readonly timeout?: string;
  readonly onError?: 'continue' | 'stopAndFail';
}

export interface TektonSidecar {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly IEnvVar[];
  readonly computeResources?: IResourceRequirements;
  readonly securityContext?: ISecurityContext;
  readonly readinessProbe?: IProbe;
  readonly volumeMounts?: readonly IVolumeMount[];
}

export interface TektonTaskSpec {
  readonly description?: string;
  readonly params?: readonly TektonParamSpec[];
  readonly results?: readonly TektonTaskResult[];
  readonly workspaces?: readonly TektonWorkspaceDeclaration[];
  readonly steps: readonly TektonStep[];
  readonly sidecars?: readonly TektonSidecar[];
  readonly volumes?: readonly IVolume[];
  readonly stepTemplate?: Partial<Omit<TektonStep, 'name' | 'script'>>;
}

export interface TektonWhenExpression {
  readonly input: string;
  readonly operator: 'in' | 'notin';
  readonly values: readonly string[];
}

export interface TektonWorkspacePipelineTaskBinding {
  readonly name: string;
  readonly workspace: string;
  readonly subPath?: string;
}

export interface TektonPipelineTask {
  readonly name: string;
  readonly taskRef: { readonly name: string; readonly kind?: 'Task' };
  readonly params?: readonly TektonParam[];
  readonly workspaces?: readonly TektonWorkspacePipelineTaskBinding[];
  readonly runAfter?: readonly string[];
  readonly when?: readonly TektonWhenExpression[];
  readonly retries?: number;
  readonly timeout?: string;
}

export interface TektonPipelineWorkspaceDeclaration {
  readonly name: string;
  readonly description?: string;
  readonly optional?: boolean;
}

export interface TektonPipelineResult {
  readonly name: string;
  readonly type?: 'string';
  readonly description?: string;
  readonly value: string;
}

export interface TektonPipelineSpec {
  readonly description?: string;
  readonly params?: readonly TektonParamSpec[];
  readonly workspaces?: readonly TektonPipelineWorkspaceDeclaration[];
  readonly tasks: readonly TektonPipelineTask[];
  readonly finally?: readonly TektonPipelineTask[];
  readonly results?: readonly TektonPipelineResult[];
}

/** Tekton's PodTemplate: the pod-level fields a run may set (pkg/apis/pipeline/pod). */
export interface TektonPodTemplate {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly IToleration[];
  readonly affinity?: IAffinity;
  readonly securityContext?: IPodSecurityContext;
  readonly runtimeClassName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly priorityClassName?: string;
}

export interface TektonWorkspaceBinding {
  readonly name: string;
  readonly subPath?: string;
  readonly volumeClaimTemplate?: { readonly metadata?: ApiObjectMetadata; readonly spec: IPersistentVolumeClaimSpec };
  readonly secret?: ISecretVolumeSource;
  readonly emptyDir?: Readonly<Record<string, never>>;
}

export interface TektonPipelineTaskRunSpec {
  readonly pipelineTaskName: string;
  readonly serviceAccountName?: string;
  readonly podTemplate?: TektonPodTemplate;
  readonly computeResources?: IResourceRequirements;
}

export interface TektonPipelineRunSpec {
  readonly pipelineRef: { readonly name: string };
  readonly params?: readonly TektonParam[];
  readonly workspaces?: readonly TektonWorkspaceBinding[];
  readonly taskRunTemplate?: { readonly serviceAccountName?: string; readonly podTemplate?: TektonPodTemplate };
  readonly taskRunSpecs?: readonly TektonPipelineTaskRunSpec[];
  readonly timeouts?: { readonly pipeline?: string; readonly tasks?: string; readonly finally?: string };
}

export interface TektonTaskProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: TektonTaskSpec;
}

export class TektonTask extends ApiObject {
  static readonly GVK = { apiVersion: 'tekton.dev/v1', kind: 'Task' } as const;

  constructor(scope: Construct, id: string, props: TektonTaskProps) {
    super(scope, id, { ...TektonTask.GVK, ...props });
  }
}

export interface TektonPipelineProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: TektonPipelineSpec;
}

export class TektonPipeline extends ApiObject {
  static readonly GVK = { apiVersion: 'tekton.dev/v1', kind: 'Pipeline' } as const;

  constructor(scope: Construct, id: string, props: TektonPipelineProps) {
    super(scope, id, { ...TektonPipeline.GVK, ...props });
  }
}

/** A PipelineRun as it appears inside a TriggerTemplate: `generateName`, no fixed name. */
export interface TektonPipelineRunManifest {
  readonly apiVersion: 'tekton.dev/v1';
  readonly kind: 'PipelineRun';
  readonly metadata: { readonly generateName?: string; readonly name?: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec: TektonPipelineRunSpec;
}

// ---------------------------------------------------------------------------------------------
// triggers.tekton.dev/v1beta1

export interface TriggerParamSpec {
  readonly name: string;
  readonly description?: string;
  readonly default?: string;
}

export interface TriggerBindingParam {
  readonly name: string;
  /** A JSONPath-like reference into the event, e.g. `$(body.head_commit.id)`, or a literal. */
  readonly value: string;
}

export interface TriggerTemplateSpec {
  readonly params?: readonly TriggerParamSpec[];
  readonly resourcetemplates: readonly TektonPipelineRunManifest[];
}

export interface TriggerBindingSpec {
  readonly params: readonly TriggerBindingParam[];
}

export interface InterceptorParam {
  readonly name: string;
  // Interceptor params are free-form JSON (secretRef objects, event type lists, CEL strings).
  readonly value: unknown;
}

/** A reference to a ClusterInterceptor (`github`, `gitlab`, `cel`, `bitbucket`). */
export interface TriggerInterceptor {
  readonly name?: string;
  readonly ref: { readonly name: string; readonly kind?: 'ClusterInterceptor' | 'NamespacedInterceptor' };
  readonly params?: readonly InterceptorParam[];
}

export interface EventListenerTrigger {
  readonly name: string;
  readonly interceptors?: readonly TriggerInterceptor[];
  readonly bindings: readonly ({ readonly ref: string; readonly kind?: 'TriggerBinding' | 'ClusterTriggerBinding' } | { readonly name: string; readonly value: string })[];
  readonly template: { readonly ref: string };
}

export interface EventListenerSpec {
  readonly serviceAccountName: string;
  readonly triggers: readonly EventListenerTrigger[];
  readonly resources?: {
    readonly kubernetesResource?: {
      readonly replicas?: number;
      readonly serviceType?: string;
      readonly servicePort?: number;
      readonly spec?: { readonly template: { readonly spec: Readonly<Record<string, unknown>> } };
    };
  };
}

export interface TriggerTemplateProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: TriggerTemplateSpec;
}

export class TektonTriggerTemplate extends ApiObject {
  static readonly GVK = { apiVersion: 'triggers.tekton.dev/v1beta1', kind: 'TriggerTemplate' } as const;

  constructor(scope: Construct, id: string, props: TriggerTemplateProps) {
    super(scope, id, { ...TektonTriggerTemplate.GVK, ...props });
  }
}

export interface TriggerBindingProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: TriggerBindingSpec;
}

export class TektonTriggerBinding extends ApiObject {
  static readonly GVK = { apiVersion: 'triggers.tekton.dev/v1beta1', kind: 'TriggerBinding' } as const;

  constructor(scope: Construct, id: string, props: TriggerBindingProps) {
    super(scope, id, { ...TektonTriggerBinding.GVK, ...props });
  }
}

export interface EventListenerProps {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: EventListenerSpec;
}

export class TektonEventListener extends ApiObject {
  static readonly GVK = { apiVersion: 'triggers.tekton.dev/v1beta1', kind: 'EventListener' } as const;

  constructor(scope: Construct, id: string, props: EventListenerProps) {
    super(scope, id, { ...TektonEventListener.GVK, ...props });
  }
}
