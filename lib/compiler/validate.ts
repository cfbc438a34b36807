import { SlipwayError } from '../errors.js';
import { crdModel } from './crd-schemas.js';
import { CLUSTER_SCOPED_KINDS } from './sync-waves.js';
import type { KubeObject } from './model.js';

// Upstream schemas: kubernetes-models for the core API groups, @kubernetes-models/* for the
// CRDs slipway emits. Each model class carries an ajv validator compiled from the OpenAPI schema.
const PACKAGES_BY_GROUP: Readonly<Record<string, readonly string[]>> = {
  'argoproj.io': ['@kubernetes-models/argo-cd', '@kubernetes-models/argo-rollouts'],
  'monitoring.coreos.com': ['@kubernetes-models/prometheus-operator'],
  'keda.sh': ['@kubernetes-models/keda'],
  'eventing.keda.sh': ['@kubernetes-models/keda'],
};
const CORE_PACKAGE = 'kubernetes-models';

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: unknown): { validate(): void };
}

/** `apiVersion/Kind`, e.g. `apps/v1/Deployment` or `v1/Service`. */
export function typeKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Validates objects against upstream schemas, keyed by apiVersion + kind. A kind without a
 * schema is an error unless allowed: an unchecked typo in a CRD kind would only fail in the cluster.
 */
export class ObjectValidator {
  private readonly models = new Map<string, Promise<ModelClass | undefined>>();
  private readonly allowed: ReadonlySet<string>;

  constructor(options: { allowUnvalidatedKinds?: Iterable<string> } = {}) {
    this.allowed = new Set(options.allowUnvalidatedKinds ?? []);
  }

  /** Loads the model class for an apiVersion + kind, or undefined when no package has one. */
  modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
    const key = typeKey(apiVersion, kind);
    let found = this.models.get(key);
    if (!found) {
      found = resolveModel(apiVersion, kind);
      this.models.set(key, found);
    }
    return found;
  }

  async problemsOf(path: string, obj: KubeObject): Promise<ValidationProblem[]> {
    const key = typeKey(obj.apiVersion, obj.kind);
    const model = await this.modelFor(obj.apiVersion, obj.kind);
    if (!model) {
      if (this.allowed.has(key)) return [];
      return [{
        path,
        message:
          `${key} has no upstream schema in kubernetes-models or @kubernetes-models/* ` +
          `(is the apiVersion or kind misspelt?); allow it explicitly with --allow-kind ${key}`,
      }];
    }
    try {
      new model(obj).validate();
      return [];
    } catch (err) {
      return [{ path, message: `${obj.kind} '${obj.metadata.name}': ${err instanceof Error ? err.message : String(err)}` }];
    }
  }

  /** Validates every object and throws one error listing all problems. */
  async validateAll(objects: ReadonlyMap<string, KubeObject>): Promise<void> {
    const problems: ValidationProblem[] = [];
    for (const [path, obj] of objects) problems.push(...(await this.problemsOf(path, obj)));
    if (problems.length > 0) throw validationError(problems);
  }
}

async function resolveModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // KServe and Kubeflow Trainer: schemas derived from their committed upstream CRDs (crd-schemas.ts).
  const fromCrd = crdModel(apiVersion, kind);
  if (fromCrd) return fromCrd;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  if (!/^[A-Za-z0-9]+$/.test(kind) || !/^[a-z0-9.-]*$/.test(group!) || !/^[a-z0-9]+$/.test(version!)) return undefined;
  const packages = PACKAGES_BY_GROUP[group!] ?? [CORE_PACKAGE];
  for (const pkg of packages) {
    const specifier = `${pkg}/${group ? `${group}/` : ''}${version}/${kind}`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch {
      continue;
    }
    const model = mod[kind] as ModelClass | undefined;
    // Sub-schemas (PodSpec, …) are classes too: only top-level kinds carry apiVersion/kind.
    if (model && model.apiVersion === apiVersion && model.kind === kind) return model;
  }
  return undefined;
}

export function validationError(problems: readonly ValidationProblem[]): SlipwayError {
  const shown = problems.slice(0, 25).map((p) => `  - ${p.path}: ${p.message}`);
  const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
  return new SlipwayError(
    'VALIDATION_FAILED',
    `${problems.length} problem(s) found; nothing was written to the config repository:\n${shown.join('\n')}${more}`,
  );
}

/**
 * What `kustomize build` checks for plain resource lists, without starting it per folder:
 * every listed resource exists and every object file is listed. Object ids must also be
 * unique across an environment: two applications writing one object would fight over it
 * in the cluster (within one application the layout already refuses duplicates).
 */
export function checkKustomizations(
  files: ReadonlySet<string>,
  kustomizations: ReadonlyMap<string, readonly string[]>,
  objects: ReadonlyMap<string, KubeObject>,
): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const listedFiles = new Set<string>();
  for (const [kustomizationPath, resources] of kustomizations) {
    const dir = kustomizationPath.slice(0, kustomizationPath.lastIndexOf('/'));
    for (const resource of resources) {
      const target = normalize(`${dir}/${resource}`);
      if (files.has(target)) listedFiles.add(target);
      else if (!files.has(`${target}/kustomization.yaml`)) {
        problems.push({ path: kustomizationPath, message: `resource '${resource}' does not exist` });
      }
    }
  }
  const idsByEnv = new Map<string, Map<string, string>>();
  for (const [path, obj] of objects) {
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (kustomizations.has(`${dir}/kustomization.yaml`) && !listedFiles.has(path)) {
      problems.push({ path, message: 'not listed in the kustomization.yaml beside it' });
    }
    if (!path.startsWith('environments/')) continue;
    const env = path.split('/')[1]!;
    const ids = idsByEnv.get(env) ?? new Map<string, string>();
    idsByEnv.set(env, ids);
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
    const ns = CLUSTER_SCOPED_KINDS.has(obj.kind) ? '' : (obj.metadata.namespace ?? '<destination>');
    const id = `${group}/${obj.kind} ${ns}/${obj.metadata.name}`;
    const other = ids.get(id);
    if (other) problems.push({ path, message: `${obj.kind} '${obj.metadata.name}' is also written by ${other}` });
    else ids.set(id, path);
  }
  return problems;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return out.join('/');
}
