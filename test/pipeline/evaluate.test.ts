import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateGates, parseGates } from '../../lib/pipeline/evaluate.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-evaluate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function metricsFile(name: string, content: unknown): string {
  const file = join(work, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('slipway pipeline evaluate', () => {
  it('passes the gates that hold and writes the numeric metrics and each gated one as results', () => {
    // GIVEN metrics.json with a non-numeric entry and two gates
    const file = metricsFile('ok.json', { auc: 0.93, f1: 0.8, note: 'trained on 2026-11' });
    const result = join(work, 'metrics');
    // WHEN the gates are evaluated
    const { failures, lines } = evaluateGates({ metricsFile: file, gates: parseGates('[{"metric":"auc","op":">=","value":0.9},{"metric":"f1","op":">","value":0.5}]'), resultFile: result });
    // THEN both pass and the results hold the numbers only
    expect(failures).toEqual([]);
    expect(lines).toEqual(['auc = 0.93, gate >= 0.9: passed', 'f1 = 0.8, gate > 0.5: passed']);
    expect(JSON.parse(readFileSync(result, 'utf8'))).toEqual({ auc: 0.93, f1: 0.8 });
    expect(readFileSync(join(work, 'metric-auc'), 'utf8')).toBe('0.93');
  });

  it('fails when a gate does not hold or its metric is missing, naming every one', () => {
    const file = metricsFile('bad.json', { auc: 0.71 });
    const { failures } = evaluateGates({
      metricsFile: file,
      gates: [
        { metric: 'auc', op: '>=', value: 0.9 },
        { metric: 'recall', op: '>=', value: 0.5 },
      ],
    });
    expect(failures).toEqual(['gate failed: auc = 0.71, expected >= 0.9', `metric "recall" is missing from ${file} (found: auc)`]);
  });

  it('fails when gates or metrics are malformed', () => {
    expect(() => parseGates('[{"metric":"auc","op":"~","value":"high"}]')).toThrow(
      /--gates: \[0\]\.op: expected one of >=, >, <=, <, ==, got "~"; \[0\]\.value: expected a finite number, got "high"/,
    );
    expect(() => evaluateGates({ metricsFile: metricsFile('list.json', [1, 2]), gates: [] })).toThrow(/must hold a JSON object of metric names to numbers, got \[1,2\]/);
    expect(() => evaluateGates({ metricsFile: join(work, 'absent.json'), gates: [] })).toThrow(/cannot read .*absent\.json/);
  });
});
