import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { DriftMonitor, type DriftMonitorProps, type DriftThresholds } from './drift-monitor.js';
import { Environment } from './environment.js';
import { Model, type ModelProps } from './model.js';
import { ModelServing, type ModelServingProps } from './model-serving.js';
import { CHALLENGER_ROLE, ROLE_LABEL } from '../lib/vocabulary/metrics.js';
import { HTTP_PORT } from '../lib/vocabulary/ports.js';
import { ServiceMonitor } from './imports/prometheus-operator.js';
import { IMAGE_DIGEST, withDigest } from './private/image.js';
import { PropValidator, collectProblems } from './private/validation.js';
import { loadModelDeploymentSpec } from './private/spec-file.js';
import { findRelease, type Release } from './release.js';

/**
 * Everything about one model in one environment, as flat data: the model, how it is served
 * and how it is watched. Spec files (YAML/JSON) have the same fields; their JSON Schema is
 * generated from this interface.
 */
export interface ModelDeploymentProps
  extends ModelProps,
    Omit<ModelServingProps, 'model' | 'name'>,
    Omit<DriftMonitorProps, 'serving' | 'thresholds'> {
  /**
   * Drift thresholds for every feature without its own entry in `featureThresholds`.
   * @default - psi 0.2, ksStatistic 0.1, jsDistance 0.1
   */
  readonly driftThresholds?: DriftThresholds;
  /**
   * Watch the model with a {@link DriftMonitor} (ServiceMonitor, alerts, dashboard).
   * @default true
   */
  readonly monitoring?: boolean;
  /**
   * Namespace of every object.
   * @default - the environment's namespace
   */
  readonly namespace?: string;
}

/** Fields a spec file may set per environment, over its top-level values. */
export type ModelDeploymentOverrides = Partial<Omit<ModelDeploymentProps, 'name' | 'owner' | 'inputs' | 'outputs' | 'format'>>;

/** A model spec file: a {@link ModelDeploymentProps} plus per-environment overrides. */
export interface ModelDeploymentSpec extends ModelDeploymentProps {
  /** JSON Schema reference for editors; ignored by slipway. */
  readonly $schema?: string;
  /**
   * Overrides by environment name (e.g. more replicas in `prod`).
   * @default - none
   */
  readonly environments?: Readonly<Record<string, ModelDeploymentOverrides>>;
}

export interface FromFileOptions {
  /**
   * Overrides applied over the file's values (after its environment overrides).
   * @default - none
   */
  readonly overrides?: ModelDeploymentOverrides;
}

/**
 * One model in one environment: {@link Model} + {@link ModelServing} + {@link DriftMonitor}
 * with good defaults, as one cdk8s Chart. In a slipway {@link Platform} each ModelDeployment
 * becomes one Argo CD Application. When `slipway synth` has a release record for the model in
 * this environment, its build (version, model and baseline with their sha256 and location, image
 * digest) wins over the props as a whole.
 */
export class ModelDeployment extends Chart {
  /**
   * Loads a spec file (YAML or JSON), validates it against `schemas/model-deployment.schema.json`
   * and applies the overrides for the enclosing environment. Problems are reported all at once
   * with file, line and column.
   */
  static fromFile(scope: Construct, file: string, options: FromFileOptions = {}): ModelDeployment {
    const environment = Environment.tryOf(scope)?.name;
    const spec = loadModelDeploymentSpec(file);
    const { $schema: _schema, environments, ...base } = spec.value;
    const envOverrides = environment ? environments?.[environment] : undefined;
    const props: ModelDeploymentProps = { ...base, ...envOverrides, ...options.overrides };
    return spec.attributeErrors(
      () => new ModelDeployment(scope, props.name, props),
      (field) => {
        const top = field.split(/[.[]/, 1)[0]!;
        if (options.overrides && top in options.overrides) return undefined;
        if (environment && envOverrides && top in envOverrides) return `/environments/${environment}/${field}`;
        return `/${field}`;
      },
    );
  }

  readonly model: Model;
  readonly serving: ModelServing;
  readonly monitor?: DriftMonitor;
  /** The challenger's serving, when the release carries a challenger build. */
  readonly challenger?: ModelServing;
  /** The release record that chose this build, when `slipway synth` supplied one. */
  readonly release?: Release;

  constructor(scope: Construct, id: string, props: ModelDeploymentProps) {
    const environment = Environment.tryOf(scope);
    super(scope, id, { namespace: props.namespace ?? environment?.namespace, disableResourceNameHashes: true });
    // Children report their problems here, so a bad spec shows every one of them at once.
    const parts = collectProblems(this, () => this.compose(props, environment));
    this.release = parts.release;
    this.model = parts.model;
    this.serving = parts.serving;
    this.monitor = parts.monitor;
    if (parts.challenger) this.challenger = parts.challenger;
  }

  private compose(
    props: ModelDeploymentProps,
    environment: Environment | undefined,
  ): { release?: Release; model: Model; serving: ModelServing; monitor?: DriftMonitor; challenger?: ModelServing } {

    const release = environment ? findRelease(this, environment.name, props.name) : undefined;
    if (release) {
      const v = new PropValidator(this, 'Release');
      v.check(IMAGE_DIGEST.test(release.imageDigest), 'imageDigest', `expected "sha256:" and 64 lower-case hex digits, got ${JSON.stringify(release.imageDigest)}`);
      v.throwIfInvalid();
    }

    const {
      namespace: _namespace,
      monitoring,
      driftThresholds,
      featureThresholds,
      driftFor,
      errorRatioThreshold,
      latencyP99Seconds,
      servingAlertFor,
      scrapeInterval,
      selectorLabels,
      dashboard,
      alertWebhookUrl,
      gateMetrics,
      performanceTolerance,
      minFeedbackSamples,
      performanceFor,
      name,
      version,
      owner,
      format,
      artifactUri,
      artifactSha256,
      inputs,
      outputs,
      labels,
      description,
      baselineUri,
      baselineSha256,
      image,
      ...servingProps
    } = props;

    // The release record is one build: its artifacts replace the props' as a whole, so a build
    // without a baseline never inherits the props' (older) one.
    const model = new Model(this, 'Model', {
      name,
      owner,
      format,
      inputs,
      outputs,
      labels,
      description,
      ...(release
        ? {
            version: release.version,
            artifactUri: release.modelLocation,
            artifactSha256: release.modelSha256,
            baselineUri: release.baselineLocation,
            baselineSha256: release.baselineSha256,
          }
        : { version, artifactUri, artifactSha256, baselineUri, baselineSha256 }),
    });

    const namespace = Chart.of(this).namespace ?? 'default';
    const serving = new ModelServing(this, 'Serving', {
      ...servingProps,
      model,
      image: release ? withDigest(image, release.imageDigest) : image,
      // The champion mirrors its traffic and feedback to the challenger's Service.
      ...(release?.challenger ? { mirrorUrl: `http://${name}-challenger.${namespace}.svc:${HTTP_PORT}` } : {}),
    });

    // KServe's own runtime exports no slipway drift metrics: monitoring it would alert on nothing.
    if ((monitoring ?? true) && servingProps.kserve?.runtime === 'kserve') {
      const v = new PropValidator(this, 'ModelDeployment');
      v.report('monitoring', "kserve.runtime 'kserve' exports no drift metrics; set monitoring: false, or serve with kserve.runtime 'slipway'");
      v.throwIfInvalid();
    }
    const challenger = release?.challenger ? this.composeChallenger(release, servingProps, image, serving) : undefined;

    const monitor =
      (monitoring ?? true)
        ? new DriftMonitor(this, 'Monitor', {
            serving,
            thresholds: driftThresholds,
            featureThresholds,
            driftFor,
            errorRatioThreshold,
            latencyP99Seconds,
            servingAlertFor,
            scrapeInterval,
            selectorLabels,
            dashboard,
            alertWebhookUrl,
            // The release's build was gated on its own metrics: live quality is held to them.
            gateMetrics: release?.metrics ?? gateMetrics,
            performanceTolerance,
            minFeedbackSamples,
            performanceFor,
          })
        : undefined;
    return { release, model, serving, monitor, ...(challenger ? { challenger } : {}) };
  }

  /**
   * The challenger build of the release, served as `<name>-challenger`: the same model name (so
   * mirrored requests address it alike) at its own version, reachable by the champion's pods
   * only, scraped with `slipway_role="challenger"` so its gauges sit beside the champion's.
   */
  private composeChallenger(release: Release, servingProps: Omit<ModelServingProps, 'model' | 'image'>, image: string, champion: ModelServing): ModelServing {
    const build = release.challenger!;
    const m = champion.model;
    const model = new Model(this, 'ChallengerModel', {
      name: m.name,
      owner: m.owner,
      format: m.format,
      inputs: m.inputs,
      outputs: m.outputs,
      labels: m.labels,
      ...(m.description !== undefined ? { description: m.description } : {}),
      version: build.version,
      artifactUri: build.modelLocation,
      artifactSha256: build.modelSha256,
      baselineUri: build.baselineLocation,
      baselineSha256: build.baselineSha256,
    });
    const { canary: _canary, allowedNamespaces: _ns, minReplicas: _min, maxReplicas: _max, driftWebhookUrl: _hook, mirrorUrl: _mirror, ...rest } = servingProps;
    const serving = new ModelServing(this, 'ChallengerServing', {
      ...rest,
      name: `${champion.name}-challenger`,
      model,
      image: withDigest(image, build.imageDigest),
      minReplicas: 1,
      maxReplicas: 1,
      allowedPodLabels: champion.selector,
    });
    new ServiceMonitor(this, 'ChallengerServiceMonitor', {
      metadata: { name: serving.name, labels: { ...serving.labels, 'app.kubernetes.io/component': 'monitoring' } },
      spec: {
        selector: { matchLabels: serving.selector },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s', relabelings: [{ targetLabel: ROLE_LABEL, replacement: CHALLENGER_ROLE }] }],
      },
    });
    return serving;
  }
}
