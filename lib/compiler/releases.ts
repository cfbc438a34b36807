import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  IMAGE_LOCATION,
  locationCredentialProblem,
  type BuildRecord,
  type Release,
} from '../vocabulary/build.js';
import { OCI_SCHEME, ociModelReferenceProblem } from '../vocabulary/oci-model.js';
import { SlipwayError } from '../errors.js';
import { parseSingleDocument, toYaml } from './yaml.js';

export const RELEASES_DIR = 'releases';

const loadSchema = (name: string) => JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv2020, formats: string[]) => void;
addFormats(ajv, ['date-time']);
ajv.addSchema(loadSchema('build.schema.json'));
const validateBuild = ajv.getSchema<BuildRecord>('https://slipway.dev/schemas/build.schema.json')!;
const validateRecord = ajv.compile<Release>(loadSchema('release.schema.json'));

export function releasePath(environment: string, model: string): string {
  return `${RELEASES_DIR}/${environment}/${model}.yaml`;
}

/** One problem of a record: a JSON pointer into it and what is wrong there. */
export interface RecordProblem {
  readonly pointer: string;
  readonly message: string;
}

function schemaProblems(errors: readonly ErrorObject[], value: unknown): RecordProblem[] {
  return errors
    // A failing `$ref` repeats its inner errors; `if`/dependent wrappers add nothing readable.
    .filter((e) => e.keyword !== '$ref')
    .map((e) => {
      const pointer = e.instancePath || '/';
      switch (e.keyword) {
        case 'unevaluatedProperties':
        case 'additionalProperties': {
          const field = String(e.params.unevaluatedProperty ?? e.params.additionalProperty);
          return { pointer: `${e.instancePath}/${field}`, message: `unknown field '${field}'` };
        }
        case 'required':
          return { pointer: `${e.instancePath}/${String(e.params.missingProperty)}`, message: 'missing required field' };
        case 'dependentRequired':
          return {
            pointer: `${e.instancePath}/${String(e.params.missingProperty)}`,
            message: `missing: required with ${String(e.params.property)}`,
          };
        case 'pattern':
          return { pointer, message: `expected to match ${String(e.params.pattern)}, got ${JSON.stringify(valueAt(value, e.instancePath))}` };
        case 'format':
          return { pointer, message: `expected an RFC 3339 date-time such as "2026-05-01T12:00:00Z", got ${JSON.stringify(valueAt(value, e.instancePath))}` };
        case 'type':
          return { pointer, message: `expected ${String(e.params.type)}, got ${JSON.stringify(valueAt(value, e.instancePath))}${typeof valueAt(value, e.instancePath) === 'number' ? ' (quote hashes in YAML)' : ''}` };
        case 'enum':
          return { pointer, message: `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(value, e.instancePath))}` };
        default:
          return { pointer, message: e.message ?? 'invalid' };
      }
    });
}

function valueAt(value: unknown, instancePath: string): unknown {
  let v = value;
  for (const part of instancePath.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return v;
}

/** Rules a JSON Schema cannot say well: no credentials in any URL, one place for both artifacts. */
function semanticProblems(value: unknown): RecordProblem[] {
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const problems: RecordProblem[] = [];
  for (const field of ['modelLocation', 'baselineLocation'] as const) {
    const location = record[field];
    if (typeof location !== 'string') continue;
    const problem = locationCredentialProblem(location) ?? (location.startsWith(OCI_SCHEME) ? ociModelReferenceProblem(location) : undefined);
    if (problem) problems.push({ pointer: `/${field}`, message: problem });
  }
  // A challenger is a whole build: its locations are held to the same rules.
  if (record.challenger && typeof record.challenger === 'object') {
    problems.push(...semanticProblems(record.challenger).map((p) => ({ ...p, pointer: `/challenger${p.pointer}` })));
  }
  const repository = (record.source as { repository?: unknown } | undefined)?.repository;
  if (typeof repository === 'string') {
    const problem = locationCredentialProblem(repository);
    if (problem) problems.push({ pointer: '/source/repository', message: problem });
  }
  const { modelLocation, baselineLocation } = record;
  if (typeof modelLocation === 'string' && typeof baselineLocation === 'string') {
    if ((modelLocation === IMAGE_LOCATION) !== (baselineLocation === IMAGE_LOCATION)) {
      problems.push({
        pointer: '/baselineLocation',
        message:
          `expected the baseline where the model is (both 'image', or both store URIs), got model ${JSON.stringify(modelLocation)} ` +
          `and baseline ${JSON.stringify(baselineLocation)}: the runtime reads the baseline beside the model`,
      });
    }
  }
  return problems;
}

function problemList(problems: readonly RecordProblem[]): string {
  return problems.map((p) => `\n  ${p.pointer}: ${p.message}`).join('');
}

/** Every problem of a build record, schema and credential rules together (empty when valid). */
export function buildProblems(value: unknown): RecordProblem[] {
  const schema = validateBuild(value) ? [] : schemaProblems(validateBuild.errors ?? [], value);
  return [...schema, ...semanticProblems(value)];
}

/** Checks a build record (build.json); `where` names the file. */
export function checkBuild(value: unknown, where: string): BuildRecord {
  const problems = buildProblems(value);
  if (problems.length > 0) throw new SlipwayError('INVALID_BUILD', `${where}: invalid build record:${problemList(problems)}`);
  return value as BuildRecord;
}

/** Reads and checks build.json; with `model`, also that the build is of that model. */
export function readBuildFile(path: string, expected: { model?: string } = {}): BuildRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SlipwayError('INVALID_BUILD', `${path}: cannot read the build record: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('INVALID_BUILD', `${path}: not JSON: ${(err as Error).message}`);
  }
  const problems = buildProblems(value);
  const model = (value as { model?: unknown } | null)?.model;
  if (expected.model !== undefined && typeof model === 'string' && model !== expected.model) {
    problems.push({ pointer: '/model', message: `expected the build of '${expected.model}' (--model), got a build of '${model}'` });
  }
  if (problems.length > 0) throw new SlipwayError('INVALID_BUILD', `${path}: invalid build record:${problemList(problems)}`);
  return value as BuildRecord;
}

/**
 * Records written before the build record (issue 10) named the model artifact `artifactSha256`
 * and `artifactUri`. They are read as builds: the sha256 carries over, and a record without a URI
 * served the image the packaging pipeline built, which holds the model at the image location.
 */
export function migrateLegacyRecord(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const { artifactSha256, artifactUri, ...rest } = value as Record<string, unknown>;
  if (artifactSha256 === undefined && artifactUri === undefined) return value;
  if ('modelSha256' in rest || 'modelLocation' in rest) return value;
  return { ...rest, modelSha256: artifactSha256, modelLocation: artifactUri ?? IMAGE_LOCATION };
}

/** Checks a record against schemas/release.schema.json; `where` names the file or flags. */
export function checkRelease(value: unknown, where: string): Release {
  const schema = validateRecord(value) ? [] : schemaProblems(validateRecord.errors ?? [], value);
  const problems = [...schema, ...semanticProblems(value)];
  if (problems.length > 0) throw new SlipwayError('INVALID_RELEASE', `${where}: invalid release record:${problemList(problems)}`);
  return value as Release;
}

/** Parses and checks releases/<env>/<model>.yaml, including that the path matches the record. */
export function parseRelease(path: string, text: string): Release {
  let value: unknown;
  try {
    value = parseSingleDocument(text, path);
  } catch (err) {
    throw new SlipwayError('INVALID_RELEASE', `invalid release record: ${(err as Error).message}`);
  }
  const release = checkRelease(migrateLegacyRecord(value), path);
  const expected = releasePath(release.environment, release.model);
  if (expected !== path) {
    throw new SlipwayError(
      'INVALID_RELEASE',
      `${path}: record says environment '${release.environment}' and model '${release.model}', so it belongs at ${expected}`,
    );
  }
  return release;
}

/** The record of `build` in `environment`: every field of the build, unchanged. */
export function releaseOf(build: BuildRecord, environment: string): Release {
  return { ...build, environment };
}

/** Keys come out sorted (toYaml), so a record's text depends on its content only. */
export function serializeRelease(release: Release): string {
  return toYaml(release);
}
