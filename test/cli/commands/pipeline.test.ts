import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'slipway-pipeline-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function slipway(...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/slipway.mjs', 'pipeline', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('slipway pipeline', () => {
  it('lists every step of the training pipeline in its help', () => {
    const help = slipway('--help');
    expect(help.status).toBe(0);
    for (const step of ['check-outputs', 'evaluate', 'package', 'record-build', 'smoke-test', 'release', 'report', 'push-model', 'fetch-model']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${step} `, 'm'));
    }
  });

  it('evaluate exits 1 naming the failed gate, as the Tekton step does', () => {
    const metrics = join(work, 'metrics.json');
    writeFileSync(metrics, '{"auc":0.7}');
    const run = slipway('evaluate', '--metrics', metrics, '--gates', '[{"metric":"auc","op":">=","value":0.9}]');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('evaluate: auc = 0.7, gate >= 0.9: FAILED\n');
    expect(run.stderr).toContain('slipway: evaluate: gate failed: auc = 0.7, expected >= 0.9');
  });
});
