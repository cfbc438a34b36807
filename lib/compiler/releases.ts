import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import type { Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import { parseSingleDocument, toYaml } from './yaml.js';

export const RELEASES_DIR = 'releases';

const schema = JSON.parse(readFileSync(new URL('../../schemas/release.schema.json', import.meta.url), 'utf8')) as object;
const validateRecord = new Ajv2020({ allErrors: true, strict: true }).compile<Release>(schema);

export function releasePath(environment: string, model: string): string {
  return `${RELEASES_DIR}/${environment}/${model}.yaml`;
}

function describeErrors(errors: readonly ErrorObject[], value: unknown): string {
  return errors
    .map((e) => {
      const field = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(record)';
      if (e.keyword === 'additionalProperties') return `${field}: unknown field '${String(e.params.additionalProperty)}'`;
      if (e.keyword === 'pattern') return `${field}: expected to match ${String(e.params.pattern)}, got ${JSON.stringify(valueAt(value, e.instancePath))}`;
      return `${field}: ${e.message ?? 'invalid'}`;
    })
    .join('; ');
}

function valueAt(value: unknown, instancePath: string): unknown {
  let v = value;
  for (const part of instancePath.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

/** Checks a record against schemas/release.schema.json; `where` names the file or flags. */
export function checkRelease(value: unknown, where: string): Release {
  if (!validateRecord(value)) {
    throw new SlipwayError('INVALID_RELEASE', `${where}: invalid release record: ${describeErrors(validateRecord.errors ?? [], value)}`);
  }
  return value;
}

/** Parses and checks releases/<env>/<model>.yaml, including that the path matches the record. */
export function parseRelease(path: string, text: string): Release {
  let value: unknown;
  try {
    value = parseSingleDocument(text, path);
  } catch (err) {
    throw new SlipwayError('INVALID_RELEASE', `invalid release record: ${(err as Error).message}`);
  }
  const release = checkRelease(value, path);
  const expected = releasePath(release.environment, release.model);
  if (expected !== path) {
    throw new SlipwayError(
      'INVALID_RELEASE',
      `${path}: record says environment '${release.environment}' and model '${release.model}', so it belongs at ${expected}`,
    );
  }
  return release;
}

export function serializeRelease(release: Release): string {
  const ordered: Release = {
    environment: release.environment,
    model: release.model,
    version: release.version,
    artifactSha256: release.artifactSha256,
    imageDigest: release.imageDigest,
    ...(release.artifactUri !== undefined ? { artifactUri: release.artifactUri } : {}),
    ...(release.approvedBy !== undefined && release.approvedBy.length > 0 ? { approvedBy: [...release.approvedBy] } : {}),
  };
  return toYaml(ordered);
}
