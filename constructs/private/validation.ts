import type { IConstruct } from 'constructs';
import { SlipwayError } from '../../lib/errors.js';

/** One problem with one prop: which field, what was given, what is expected and how to fix it. */
export interface PropProblem {
  readonly field: string;
  readonly message: string;
}

/** The problems of one construct, under its construct path. */
export interface ProblemGroup {
  readonly constructPath: string;
  readonly constructType: string;
  readonly problems: readonly PropProblem[];
}

/**
 * Thrown when props are invalid. Problems are grouped by construct path, and a composition
 * (ModelDeployment) gathers the groups of all its children so one synth shows them all.
 */
export class ConstructValidationError extends SlipwayError {
  constructor(readonly groups: readonly ProblemGroup[]) {
    super(
      'INVALID_PROPS',
      groups
        .map((g) => `${g.constructType} at '${g.constructPath}' has invalid props:\n` + g.problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n'))
        .join('\n'),
    );
    this.name = 'ConstructValidationError';
  }

  get problems(): readonly PropProblem[] {
    return this.groups.flatMap((g) => g.problems);
  }
}

const COLLECTOR = Symbol.for('slipway.validation-collector');
type Collecting = IConstruct & { [COLLECTOR]?: ProblemGroup[] };

/**
 * Runs `build` with validation deferred below `scope`: children record their problems instead
 * of throwing, and all of them are thrown together at the end.
 */
export function collectProblems<T>(scope: IConstruct, build: () => T): T {
  const collecting = scope as Collecting;
  const groups: ProblemGroup[] = [];
  collecting[COLLECTOR] = groups;
  try {
    return build();
  } finally {
    delete collecting[COLLECTOR];
    if (groups.length > 0) throw new ConstructValidationError(groups);
  }
}

/** Collects prop problems for one construct and reports them together. */
export class PropValidator {
  private readonly problems: PropProblem[] = [];

  constructor(
    private readonly scope: IConstruct,
    private readonly constructType: string,
  ) {}

  /** Records `message` for `field` unless `ok` holds. */
  check(ok: boolean, field: string, message: string): void {
    if (!ok) this.problems.push({ field, message });
  }

  report(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  /** Throws the problems, or hands them to an enclosing {@link collectProblems}. */
  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    const group = { constructPath: this.scope.node.path || this.scope.node.id || '<root>', constructType: this.constructType, problems: this.problems };
    // The innermost collecting scope wins; consumers compile this file, so no ES2023 findLast.
    const collector = this.scope.node.scopes.map((s) => (s as Collecting)[COLLECTOR]).filter(Boolean).pop();
    if (collector) collector.push(group);
    else throw new ConstructValidationError([group]);
  }
}

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS_1123_LABEL.test(value);
}

export function dnsLabelProblem(value: unknown): string {
  return (
    `expected a DNS-1123 label (lower-case letters, digits and '-', starting and ending ` +
    `with a letter or digit, at most 63 characters), got ${JSON.stringify(value)}`
  );
}

export function formatValue(value: unknown): string {
  return JSON.stringify(value);
}
