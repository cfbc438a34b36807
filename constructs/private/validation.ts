import type { IConstruct } from 'constructs';

/** One problem with one prop: which field, what was given, what is expected and how to fix it. */
export interface PropProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Thrown from a construct's constructor when its props are invalid. All problems of one
 * construct are reported together, under its construct path, so one synth shows them all.
 */
export class ConstructValidationError extends Error {
  readonly code = 'INVALID_PROPS';

  constructor(
    readonly constructPath: string,
    readonly constructType: string,
    readonly problems: readonly PropProblem[],
  ) {
    super(
      `${constructType} at '${constructPath}' has invalid props:\n` +
        problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n'),
    );
    this.name = 'ConstructValidationError';
  }
}

/** Collects prop problems for one construct and throws them together. */
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

  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    const path = this.scope.node.path || this.scope.node.id || '<root>';
    throw new ConstructValidationError(path, this.constructType, this.problems);
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
