/** A quality gate on one metric of `metrics.json`: the run fails unless `metric op value` holds. */
export interface QualityGate {
  /** Top-level key of `metrics.json`, e.g. `auc`. */
  readonly metric: string;
  readonly op: '>=' | '>' | '<=' | '<' | '==';
  readonly value: number;
}

export const GATE_OPS: readonly QualityGate['op'][] = ['>=', '>', '<=', '<', '=='];

export const GATE_METRIC = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Name of the evaluate task's result (and file) that holds a gated metric. */
export function metricResultName(metric: string): string {
  return `metric-${metric.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

export function gateHolds(value: number, gate: QualityGate): boolean {
  switch (gate.op) {
    case '>=':
      return value >= gate.value;
    case '>':
      return value > gate.value;
    case '<=':
      return value <= gate.value;
    case '<':
      return value < gate.value;
    case '==':
      return value === gate.value;
  }
}
