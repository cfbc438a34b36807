import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { LineCounter, isNode, parseDocument } from 'yaml';
import profileSchema from '../../schemas/baseline-profile.schema.json' with { type: 'json' };
import thresholdsSchema from '../../schemas/drift-thresholds.schema.json' with { type: 'json' };
import { SlipwayError } from '../errors.js';
import type { BaselineProfile, FeatureProfile, ThresholdConfig } from './profile.js';

// Compiled on first use: writing a baseline (`slipway baseline`, serializeBaseline) needs neither
// validator, and compiling both schemas costs about 130 ms. (`slipway serve` imports this module
// only for models with a baseline.json, lib/drift/observer.ts.)
let compiled: { thresholds: ValidateFunction<ThresholdConfig>; profile: ValidateFunction<BaselineProfile> } | undefined;
function validators() {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true });
    // Compiled first: the profile schema refers to it by $id.
    const thresholds = ajv.compile<ThresholdConfig>(thresholdsSchema);
    compiled = { thresholds, profile: ajv.compile<BaselineProfile>(profileSchema) };
  }
  return compiled;
}

/** A parsed JSON/YAML document that can say where a JSON pointer sits in its text. */
class LocatedDocument {
  private readonly lines = new LineCounter();
  private readonly doc;

  constructor(readonly file: string, text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
  }

  get value(): unknown {
    return this.doc.toJS();
  }

  get syntaxError(): { line: number; column: number; message: string } | undefined {
    const err = this.doc.errors[0];
    if (!err) return undefined;
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    return { line: pos.line, column: pos.col, message: err.message.split('\n')[0]! };
  }

  /** Line and column of the value at `pointer`, or of its nearest existing ancestor. */
  locate(pointer: string): { line: number; column: number } {
    const path = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    for (let depth = path.length; depth >= 0; depth--) {
      const segments = path.slice(0, depth).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const node = depth === 0 ? this.doc.contents : this.doc.getIn(segments, true);
      if (isNode(node) && node.range) {
        const pos = this.lines.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return { line: 1, column: 1 };
  }

  error(code: string, pointer: string, message: string): SlipwayError {
    const { line, column } = this.locate(pointer);
    return new SlipwayError(code, `${this.file}:${line}:${column}: ${pointer || '(root)'}: ${message}`, 1);
  }
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  // Never echo a whole file: a wrong file passed as a document parses as one long string.
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 50)}…" (${String(value).length} characters)` : text}`;
}

function describe(error: ErrorObject, root: unknown): { pointer: string; message: string } {
  const got = valueAt(root, error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { pointer: error.instancePath, message: `missing required field "${String(p.missingProperty)}"` };
    case 'additionalProperties':
      return { pointer: `${error.instancePath}/${String(p.additionalProperty)}`, message: `unknown field "${String(p.additionalProperty)}"` };
    case 'type':
      return { pointer: error.instancePath, message: `expected ${String(p.type)}, got ${kindOf(got)}` };
    case 'const':
      return { pointer: error.instancePath, message: `expected ${JSON.stringify(p.allowedValue)}, got ${kindOf(got)}` };
    case 'enum':
      return { pointer: error.instancePath, message: `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${kindOf(got)}` };
    case 'discriminator':
      return { pointer: `${error.instancePath}/type`, message: `expected "numeric" or "categorical", got ${kindOf(valueAt(got, '/type'))}` };
    default:
      return { pointer: error.instancePath, message: `expected ${error.message ?? 'a valid value'}, got ${kindOf(got)}` };
  }
}

async function readDocument(file: string, what: string): Promise<LocatedDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SlipwayError('DRIFT_FILE_UNREADABLE', `${file}: cannot read ${what}: ${(err as Error).message}`, 1, { cause: err });
  }
  if (text.trim() === '') throw new SlipwayError('DRIFT_EMPTY_FILE', `${file}:1:1: empty file: expected ${what}`, 1);
  const doc = new LocatedDocument(file, text);
  const syntax = doc.syntaxError;
  if (syntax) throw new SlipwayError('DRIFT_SYNTAX', `${file}:${syntax.line}:${syntax.column}: invalid ${what}: ${syntax.message}`, 1);
  return doc;
}

const DATA_EXTENSIONS = /\.(csv|tsv|jsonl|ndjson)$/i;

/** A one-line hint, never the file's content, when a data file is passed as the baseline. */
async function refuseDataFile(file: string): Promise<void> {
  let head: string;
  try {
    head = (await readFile(file, 'utf8')).slice(0, 4096).trimStart();
  } catch {
    return; // readDocument reports unreadable files
  }
  const looksLikeData = DATA_EXTENSIONS.test(file) || (head !== '' && !head.startsWith('{'));
  if (looksLikeData) {
    throw new SlipwayError('DRIFT_BASELINE_NOT_PROFILE',
      `${file}:1:1: expected a baseline profile (a JSON object written by \`slipway baseline\`), got ${DATA_EXTENSIONS.test(file) ? 'a data file' : 'something that is not a JSON object'}: did you swap --baseline and --data?`, 1);
  }
}

/** Reads a baseline profile, checking it against schemas/baseline-profile.schema.json and for internal consistency. */
export async function readBaseline(file: string): Promise<BaselineProfile> {
  await refuseDataFile(file);
  const doc = await readDocument(file, 'baseline profile (JSON)');
  const value = doc.value;
  const validateProfile = validators().profile;
  if (!validateProfile(value)) {
    const { pointer, message } = describe(validateProfile.errors![0]!, value);
    throw doc.error('DRIFT_BASELINE_INVALID', pointer, message);
  }
  const profile = value;
  profile.featureOrder.forEach((name, i) => {
    if (!(name in profile.features)) {
      throw doc.error('DRIFT_BASELINE_INVALID', `/featureOrder/${i}`, `expected the name of a profiled feature (${Object.keys(profile.features).join(', ')}), got "${name}"`);
    }
  });
  for (const [name, feature] of Object.entries(profile.features)) checkFeature(doc, `/features/${escape(name)}`, feature);
  if (profile.outputs) {
    profile.outputs.order.forEach((name, i) => {
      if (!(name in profile.outputs!.features)) {
        throw doc.error('DRIFT_BASELINE_INVALID', `/outputs/order/${i}`, `expected the name of a profiled output, got "${name}"`);
      }
    });
    for (const [name, feature] of Object.entries(profile.outputs.features)) checkFeature(doc, `/outputs/features/${escape(name)}`, feature);
  }
  if (profile.target) checkFeature(doc, '/target/profile', profile.target.profile);
  return profile;
}

const escape = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

function checkFeature(doc: LocatedDocument, at: string, feature: FeatureProfile): void {
  const fail = (pointer: string, message: string) => {
    throw doc.error('DRIFT_BASELINE_INVALID', `${at}${pointer}`, message);
  };
  if (feature.type === 'categorical') {
    const listed = feature.categories.reduce((sum, c) => sum + c.count, 0);
    if (listed + feature.otherCount !== feature.count) {
      fail('/count', `expected the category counts plus otherCount (${listed + feature.otherCount}), got ${feature.count}`);
    }
    return;
  }
  const q = feature.quantiles;
  if (q.countAtOrBelow.length !== q.values.length) fail('/quantiles/countAtOrBelow', `expected ${q.values.length} entries like values, got ${q.countAtOrBelow.length}`);
  if (q.countBelow.length !== q.values.length) fail('/quantiles/countBelow', `expected ${q.values.length} entries like values, got ${q.countBelow.length}`);
  for (let i = 1; i < q.values.length; i++) {
    if (!(q.values[i]! > q.values[i - 1]!)) fail(`/quantiles/values/${i}`, `expected a value above ${q.values[i - 1]} (ascending), got ${q.values[i]}`);
    if (q.countBelow[i]! < q.countAtOrBelow[i - 1]!) fail(`/quantiles/countBelow/${i}`, `expected at least ${q.countAtOrBelow[i - 1]} (counts ascend), got ${q.countBelow[i]}`);
  }
  for (let i = 0; i < q.values.length; i++) {
    if (q.countBelow[i]! >= q.countAtOrBelow[i]!) fail(`/quantiles/countBelow/${i}`, `expected less than countAtOrBelow (${q.countAtOrBelow[i]}), got ${q.countBelow[i]}`);
  }
  const last = q.countAtOrBelow[q.values.length - 1]!;
  if (last !== feature.count) fail(`/quantiles/countAtOrBelow/${q.values.length - 1}`, `expected the feature count ${feature.count}, got ${last}`);
  for (let i = 1; i < feature.bins.edges.length; i++) {
    if (feature.bins.edges[i]! < feature.bins.edges[i - 1]!) fail(`/bins/edges/${i}`, `expected at least ${feature.bins.edges[i - 1]} (ascending), got ${feature.bins.edges[i]}`);
  }
  const sum = feature.bins.fractions.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) fail('/bins/fractions', `expected fractions summing to 1, got ${sum}`);
}

/** Reads per-feature thresholds (JSON or YAML); names must exist in the baseline. */
export async function readThresholds(file: string, baseline: BaselineProfile): Promise<ThresholdConfig> {
  const doc = await readDocument(file, 'drift thresholds (JSON or YAML)');
  const value = doc.value;
  const validateThresholds = validators().thresholds;
  if (!validateThresholds(value)) {
    const { pointer, message } = describe(validateThresholds.errors![0]!, value);
    throw doc.error('DRIFT_THRESHOLDS_INVALID', pointer, message);
  }
  for (const name of Object.keys(value.features ?? {})) {
    if (!(name in baseline.features)) {
      throw doc.error('DRIFT_UNKNOWN_FEATURE', `/features/${escape(name)}`, `unknown feature "${name}": the baseline has ${Object.keys(baseline.features).join(', ')}`);
    }
  }
  for (const name of Object.keys(value.outputs ?? {})) {
    if (!(name in (baseline.outputs?.features ?? {}))) {
      throw doc.error('DRIFT_UNKNOWN_FEATURE', `/outputs/${escape(name)}`, `unknown output "${name}": the baseline has ${Object.keys(baseline.outputs?.features ?? {}).join(', ') || 'no outputs'}`);
    }
  }
  return value;
}

/** Writes through a temporary file and a rename, so a failure leaves any old file intact. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new SlipwayError('DRIFT_WRITE_FAILED', `${file}: cannot write: ${(err as Error).message}`, 1, { cause: err });
  }
}

export function serializeBaseline(profile: BaselineProfile): string {
  return `${JSON.stringify(profile, null, 2)}\n`;
}
