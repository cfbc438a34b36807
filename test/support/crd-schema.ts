import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

/**
 * The API server prunes fields a structural schema does not declare, so a misspelt field in an
 * emitted custom resource would vanish silently in the cluster: here every declared object
 * refuses unknown fields, unless the schema preserves them.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, strict(v)])) : strict(value);
  }
  const preserve = (schema as Schema)['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !preserve) out.additionalProperties = false;
  return out;
}

/** A validator for one version of an upstream CRD committed under test/fixtures/crds. */
export function crdValidator(file: string, version: string): ValidateFunction {
  const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> } };
  const found = crd.spec.versions.find((v) => v.name === version);
  if (!found) throw new Error(`${file} has no version ${version}`);
  const schema = strict(found.schema.openAPIV3Schema) as Schema;
  // metadata is the API server's: the CRD leaves it open.
  (schema.properties as Schema).metadata = { type: 'object' };
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}
