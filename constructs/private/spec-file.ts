import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import schema from '../../schemas/model-deployment.schema.json' with { type: 'json' };
import type { IConstruct } from 'constructs';
import { Environment } from '../environment.js';
import type { ModelDeploymentSpec } from '../model-deployment.js';
import { Platform } from '../platform.js';
import { SlipwayError } from '../../lib/errors.js';
import { ConstructValidationError } from './validation.js';

/** One problem in a spec file, located by line and column. */
export interface SpecProblem {
  readonly pointer: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** A spec file that cannot become a ModelDeployment: every problem, with file:line:column. */
export class SpecFileError extends SlipwayError {
  constructor(
    readonly file: string,
    readonly problems: readonly SpecProblem[],
  ) {
    super(
      'INVALID_SPEC',
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems
          .map((p) => `  ${file}${p.line ? `:${p.line}:${p.column}` : ''} ${p.pointer || '/'}: ${p.message}`)
          .join('\n'),
    );
    this.name = 'SpecFileError';
  }
}

let validator: ValidateFunction | undefined;
function validateSpec(value: unknown): readonly ErrorObject[] {
  validator ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return validator(value) ? [] : (validator.errors ?? []);
}

/** A parsed spec file that places the problems of what is built from it on its lines. */
export interface LoadedSpec {
  /** The parsed spec; an object, but only schema-valid when {@link attributeErrors} returns. */
  readonly value: ModelDeploymentSpec;
  /**
   * Runs `build` and reports the schema's problems and those of a {@link ConstructValidationError}
   * it throws together, as one {@link SpecFileError} whose problems point at the lines of the
   * fields via `pointerFor` (construct field → JSON pointer in the file, or undefined when the
   * value did not come from the file). The built construct also checks, when the app is
   * validated, that every key under `environments:` names an environment the app defines.
   */
  attributeErrors<T extends IConstruct>(build: () => T, pointerFor: (field: string) => string | undefined): T;
}

/** A spec file read and parsed as YAML, with a locator from byte offsets to its lines. */
export interface ParsedSpecFile {
  readonly file: string;
  readonly doc: Document;
  readonly value: unknown;
  readonly locate: (offset: number | undefined) => { line?: number; column?: number };
}

/** Reads and parses a spec file; unreadable files and YAML errors throw a located {@link SpecFileError}. */
export function parseSpecFile(path: string): ParsedSpecFile {
  const file = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecFileError(file, [{ pointer: '', message: `cannot read the spec file: ${(err as Error).message}` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new SpecFileError(
      file,
      doc.errors.map((e) => ({ pointer: '', ...locate(e.pos[0]), message: `invalid YAML: ${e.message.split('\n')[0]}` })),
    );
  }
  return { file, doc, value: doc.toJS() as unknown, locate };
}

export function loadModelDeploymentSpec(path: string): LoadedSpec {
  const { file, doc, value, locate } = parseSpecFile(path);
  const schemaProblems = validateSpec(value).map((e) => schemaProblem(doc, e, locate));
  // Without a mapping at the top there are no fields to build from: the schema's word is all.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SpecFileError(file, schemaProblems);
  const at = (pointer: string) => locate(nodeAt(doc, pointer)?.range?.[0]);
  const spec = value as ModelDeploymentSpec;
  return {
    value: spec,
    attributeErrors(build, pointerFor) {
      let built: ReturnType<typeof build> | undefined;
      let ruleProblems: SpecProblem[] = [];
      try {
        built = build();
      } catch (err) {
        if (err instanceof ConstructValidationError) {
          ruleProblems = err.groups.flatMap((group) =>
            group.problems.map((p) => {
              const pointer = pointerFor(specField(p.field));
              const where = pointer ? closestLocated(pointer, at) : {};
              return { pointer: pointer ?? `(${group.constructPath}) ${p.field}`, ...where, message: p.message };
            }),
          );
        } else if (schemaProblems.length === 0) {
          throw err;
        }
        // Otherwise building tripped over a value the schema rejects: its problems say why.
      }
      // One report: the schema's problems, then the construct rules' on fields the schema accepted.
      // Composed constructs check shared fields (the name) each; the file has one line for it.
      const problems = [...schemaProblems, ...ruleProblems.filter((p) => !schemaProblems.some((s) => s.pointer === p.pointer))];
      const unique = problems.filter((p, i) => problems.findIndex((q) => q.pointer === p.pointer && q.message === p.message) === i);
      if (unique.length > 0) throw new SpecFileError(file, sortByLine(unique));
      const construct = built!;
      const environmentKeyAt = (key: string) => {
        const environments = nodeAt(doc, '/environments');
        const item = isMap(environments) ? environments.items.find((i) => isScalar(i.key) && i.key.value === key) : undefined;
        return locate((item?.key as Node | undefined)?.range?.[0]);
      };
      construct.node.addValidation({ validate: () => unknownEnvironments(construct, spec, file, environmentKeyAt) });
      return construct;
    },
  };
}

/**
 * Keys under `environments:` that name no Environment of the app, which would otherwise be
 * ignored silently (a typo like `prdo:`). Checked at validation time: the app may create its
 * environments after loading the spec.
 */
function unknownEnvironments(
  scope: IConstruct,
  spec: ModelDeploymentSpec,
  file: string,
  keyAt: (key: string) => { line?: number; column?: number },
): string[] {
  const keys = Object.keys(spec.environments ?? {});
  if (keys.length === 0) return [];
  const root = Platform.tryOf(scope) ?? scope.node.root;
  const defined = root.node.findAll().filter((c): c is Environment => c instanceof Environment).map((e) => e.name);
  // Outside any Environment (a bare chart in a test) nothing selects overrides: nothing to check.
  if (defined.length === 0) return [];
  return keys
    .filter((key) => !defined.includes(key))
    .map((key) => {
      const pointer = `/environments/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      const { line, column } = keyAt(key);
      return (
        `${file}${line ? `:${line}:${column}` : ''} ${pointer}: unknown environment ${JSON.stringify(key)}; ` +
        `the app defines ${defined.map((e) => `'${e}'`).join(', ')}`
      );
    });
}

export function sortByLine(problems: readonly SpecProblem[]): SpecProblem[] {
  return [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

/** Paths below the working directory are shown relative to it, as a user would type them. */
function displayPath(path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

// DriftMonitor calls its default thresholds `thresholds`; the flat spec calls them `driftThresholds`.
function specField(constructField: string): string {
  return constructField.replace(/^thresholds\b/, 'driftThresholds').replace(/\[(\d+)\]/g, '.$1').replaceAll('.', '/');
}

function closestLocated(pointer: string, at: (p: string) => { line?: number; column?: number }): { line?: number; column?: number } {
  for (let p = pointer; p; p = p.slice(0, p.lastIndexOf('/'))) {
    const where = at(p);
    if (where.line) return where;
  }
  return {};
}

export function schemaProblem(
  doc: Document,
  error: ErrorObject,
  locate: (offset: number | undefined) => { line?: number; column?: number },
): SpecProblem {
  const pointer = error.instancePath;
  const node = nodeAt(doc, pointer);
  const given = node && isScalar(node) ? ` got ${JSON.stringify(node.toJSON())}` : '';
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { pointer: `${pointer}/${missing}`, ...locate(node?.range?.[0]), message: `required field "${missing}" is missing` };
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      const keyOffset = isMap(node) ? (node.items.find((i) => isScalar(i.key) && i.key.value === extra)?.key as Node | undefined)?.range?.[0] : undefined;
      return { pointer: `${pointer}/${extra}`, ...locate(keyOffset ?? node?.range?.[0]), message: `unknown field "${extra}" (check its spelling against the schema)` };
    }
    case 'type': {
      const expected = (error.params as { type: string }).type;
      const value = node && isScalar(node) ? node.toJSON() : undefined;
      const hint = expected === 'string' && typeof value === 'number' ? ' (quote it: YAML reads it as a number)' : '';
      return { pointer, ...locate(node?.range?.[0]), message: `expected ${expected === 'array' || expected === 'object' ? 'an' : 'a'} ${expected},${given || ` got a ${node && isSeq(node) ? 'list' : isMap(node) ? 'mapping' : 'value of another type'}`}${hint}` };
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      return { pointer, ...locate(node?.range?.[0]), message: `expected one of ${allowed},${given}` };
    }
    default:
      return { pointer, ...locate(node?.range?.[0]), message: `expected a value that ${error.message ?? 'matches the schema'},${given || ' got another value'}` };
  }
}

export function nodeAt(doc: Document, pointer: string): Node | undefined {
  let node: unknown = doc.contents;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (isMap(node)) node = node.get(key, true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else return undefined;
  }
  return node as Node | undefined;
}
