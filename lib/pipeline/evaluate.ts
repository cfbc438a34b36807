import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { GATE_METRIC, GATE_OPS, gateHolds, metricResultName, type QualityGate } from '../vocabulary/gates.js';

export interface EvaluateOptions {
  /** metrics.json the training wrote. */
  readonly metricsFile: string;
  readonly gates: readonly QualityGate[];
  /** File that receives the numeric metrics as compact JSON; each gated metric goes beside it as `metric-<name>`. */
  readonly resultFile?: string;
}

export interface EvaluateResult {
  readonly metrics: Readonly<Record<string, number>>;
  /** One line per gate, for the log. */
  readonly lines: readonly string[];
  /** Why the build is rejected; empty when every gate holds. */
  readonly failures: readonly string[];
}

/** Parses `--gates` JSON, naming every malformed gate. */
export function parseGates(text: string): QualityGate[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('PIPELINE_GATES_INVALID', `--gates: expected a JSON array of {metric, op, value}: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new SlipwayError('PIPELINE_GATES_INVALID', `--gates: expected a JSON array of {metric, op, value}, got ${JSON.stringify(value)}`);
  const problems: string[] = [];
  value.forEach((g: Partial<QualityGate> | null, i) => {
    if (!g || typeof g !== 'object') return problems.push(`[${i}]: expected {metric, op, value}, got ${JSON.stringify(g)}`);
    if (typeof g.metric !== 'string' || !GATE_METRIC.test(g.metric)) problems.push(`[${i}].metric: expected a metric name such as "auc", got ${JSON.stringify(g.metric)}`);
    if (!GATE_OPS.includes(g.op as QualityGate['op'])) problems.push(`[${i}].op: expected one of ${GATE_OPS.join(', ')}, got ${JSON.stringify(g.op)}`);
    if (typeof g.value !== 'number' || !Number.isFinite(g.value)) problems.push(`[${i}].value: expected a finite number, got ${JSON.stringify(g.value)}`);
    return undefined;
  });
  if (problems.length > 0) throw new SlipwayError('PIPELINE_GATES_INVALID', `--gates: ${problems.join('; ')}`);
  return value as QualityGate[];
}

/** Reads the numeric metrics of metrics.json. */
export function readMetrics(file: string): Record<string, number> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SlipwayError('PIPELINE_METRICS_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SlipwayError('PIPELINE_METRICS_INVALID', `${file} must hold a JSON object of metric names to numbers, got ${JSON.stringify(value)}`);
  }
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/** Checks the gates against metrics.json and writes the metrics as task results. */
export function evaluateGates(options: EvaluateOptions): EvaluateResult {
  const metrics = readMetrics(options.metricsFile);
  if (options.resultFile) writeFileSync(options.resultFile, JSON.stringify(metrics));
  const lines: string[] = [];
  const failures: string[] = [];
  for (const gate of options.gates) {
    const value = metrics[gate.metric];
    if (value === undefined) {
      failures.push(`metric "${gate.metric}" is missing from ${options.metricsFile} (found: ${Object.keys(metrics).join(', ') || 'none'})`);
      continue;
    }
    if (options.resultFile) writeFileSync(join(dirname(options.resultFile), metricResultName(gate.metric)), String(value));
    const ok = gateHolds(value, gate);
    lines.push(`${gate.metric} = ${value}, gate ${gate.op} ${gate.value}: ${ok ? 'passed' : 'FAILED'}`);
    if (!ok) failures.push(`gate failed: ${gate.metric} = ${value}, expected ${gate.op} ${gate.value}`);
  }
  return { metrics, lines, failures };
}
