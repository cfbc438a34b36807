import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { slipwayPackage } from '../package-info.js';

/**
 * JSON Schemas of the CRDs slipway emits that no @kubernetes-models package covers (KServe,
 * Kubeflow Trainer), derived by `npm run schemas` from the upstream CRD files committed under
 * test/fixtures/upstream/crds and shipped in schemas/crds/, one file per apiVersion and kind.
 */
export interface CrdSchemaFile {
  readonly apiVersion: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
  /** The CRD's openAPIV3Schema of that version, as upstream wrote it. */
  readonly schema: Record<string, unknown>;
}

export function crdSchemaFileName(apiVersion: string, kind: string): string {
  return `${apiVersion.replace('/', '.')}.${kind}.json`;
}

/** Every served version of a CustomResourceDefinition (YAML), as schema files. */
export function crdSchemaFiles(crdYaml: string): CrdSchemaFile[] {
  const crd = parse(crdYaml) as {
    spec: { group: string; scope: 'Namespaced' | 'Cluster'; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => ({ apiVersion: `${crd.spec.group}/${v.name}`, kind: crd.spec.names.kind, scope: crd.spec.scope, schema: v.schema.openAPIV3Schema }));
}

/**
 * What the API server accepts with strict field validation (kubectl's default since 1.27):
 * the schema, and no field it does not declare, except under x-kubernetes-preserve-unknown-fields.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'enum' || key === 'default' || key === 'example' ? value : strict(value);
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

// The InferenceService schema repeats a full Container schema dozens of times: unoptimized code
// compiles it in a third of the time (seconds), and validates a few objects just as well.
/**
 * The same schema with every large sub-schema that occurs more than once (the InferenceService
 * repeats a full Container schema for each predictor framework) moved into `definitions` and
 * referenced, so ajv compiles each of them once.
 */
function shared(schema: unknown): unknown {
  type Schema = Record<string, unknown>;
  const isSchema = (n: unknown): n is Schema => !!n && typeof n === 'object' && !Array.isArray(n);
  // Visits the sub-schemas of a schema (not the maps and lists that hold them).
  const mapChildren = (node: Schema, f: (child: Schema) => unknown): Schema => {
    const out: Schema = { ...node };
    if (isSchema(node.properties)) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, isSchema(v) ? f(v) : v]));
    for (const key of ['items', 'additionalProperties', 'not'] as const) if (isSchema(node[key])) out[key] = f(node[key] as Schema);
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) if (Array.isArray(node[key])) out[key] = (node[key] as unknown[]).map((v) => (isSchema(v) ? f(v) : v));
    return out;
  };
  const counts = new Map<string, number>();
  const count = (node: Schema): Schema => {
    mapChildren(node, count);
    const text = JSON.stringify(node);
    if (text.length > 2000) counts.set(text, (counts.get(text) ?? 0) + 1);
    return node;
  };
  if (!isSchema(schema)) return schema;
  count(schema);
  const definitions: Record<string, unknown> = {};
  const names = new Map<string, string>();
  const replace = (node: Schema): unknown => {
    const text = JSON.stringify(node);
    if ((counts.get(text) ?? 0) > 1) {
      let name = names.get(text);
      if (!name) {
        name = `shared${names.size}`;
        names.set(text, name);
        definitions[name] = mapChildren(node, replace);
      }
      return { $ref: `#/definitions/${name}` };
    }
    return mapChildren(node, replace);
  };
  const out = mapChildren(schema, replace);
  return names.size > 0 ? { ...out, definitions } : out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, code: { optimize: false } });
const compiled = new Map<string, ValidateFunction | undefined>();

function validatorFor(apiVersion: string, kind: string): ValidateFunction | undefined {
  const name = crdSchemaFileName(apiVersion, kind);
  if (!compiled.has(name)) {
    let file: CrdSchemaFile | undefined;
    // Beside the modules (sources: schemas/; build/ and the runtime image: build/schemas/), else
    // the npm package's root schemas/ (it does not ship the build/ copy).
    for (const dir of [new URL('../../schemas/crds/', import.meta.url).pathname, join(slipwayPackage().root, 'schemas', 'crds')]) {
      try {
        file = JSON.parse(readFileSync(join(dir, name), 'utf8')) as CrdSchemaFile;
        break;
      } catch {
        file = undefined;
      }
    }
    compiled.set(name, file && file.apiVersion === apiVersion && file.kind === kind ? ajv.compile(shared(strict(file.schema)) as object) : undefined);
  }
  return compiled.get(name);
}

function describe(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : ''}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`)
    .join('; ');
}

/** A model class (as kubernetes-models has them) for a CRD kind with a shipped schema, or undefined. */
export function crdModel(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) & { apiVersion: string; kind: string } | undefined {
  const validate = validatorFor(apiVersion, kind);
  if (!validate) return undefined;
  return class {
    static readonly apiVersion = apiVersion;
    static readonly kind = kind;
    constructor(private readonly data: unknown) {}
    validate(): void {
      if (!validate(this.data)) throw new Error(describe(validate.errors ?? []));
    }
  };
}

/** Problems of one object against its CRD schema: [] when it conforms, undefined when no schema is shipped for its kind. */
export function crdProblems(obj: { apiVersion: string; kind: string }): string[] | undefined {
  const validate = validatorFor(obj.apiVersion, obj.kind);
  if (!validate) return undefined;
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}
