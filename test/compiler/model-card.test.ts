import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelCardPath, renderModelCard } from '../../lib/compiler/model-card.js';
import { viewRecord } from '../../lib/compiler/record-view.js';
import { release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import { git } from './support/repo-snapshot.js';

const APP = new URL('../../apps/main.ts', import.meta.url).pathname;

// A build record in the shape of CONTRACTS.md (issue 10), lineage included.
const BUILD_RECORD = {
  environment: 'prod',
  model: 'fraud-detector',
  version: '1.5.0',
  modelSha256: '1'.repeat(64),
  modelLocation: 's3://acme-ml-models/fraud-detector/1.5.0/model.onnx',
  baselineSha256: '2'.repeat(64),
  imageDigest: `sha256:${'3'.repeat(64)}`,
  source: { repository: 'https://github.com/acme/fraud.git', commit: '4'.repeat(40), committedAt: '2026-11-02T09:00:00Z' },
  trainingDataSha256: '5'.repeat(64),
  metrics: { auc: 0.93, recall: 0.81 },
  trigger: 'drift',
  pipelineRun: 'train-fraud-detector-x7k2p',
  builtAt: '2026-11-02T10:30:00Z',
  approvedBy: ['alice'],
};

const PROPS = {
  name: 'fraud-detector',
  owner: 'risk-ml@acme.example',
  description: 'Scores card transactions for fraud.',
  format: 'onnx',
  inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 6] }],
  outputs: [{ name: 'probability', datatype: 'FP32' as const, shape: [-1, 2] }],
  labels: { team: 'risk' },
};

describe('model card', () => {
  it('renders owner, description, signature, version, metrics, data hash, source, trigger and approvals', () => {
    // GIVEN a build record with lineage and the model's props WHEN the card is rendered
    const card = renderModelCard(viewRecord(BUILD_RECORD), PROPS);
    // THEN it answers what runs and where it came from
    expect(card).toMatchSnapshot();
    expect(card).toMatch(/^# fraud-detector 1\.5\.0 in prod\n\nScores card transactions for fraud\.\n/);
    expect(card).toContain('| Owner | risk-ml@acme.example |');
    expect(card).toContain(`| Training data sha256 | \`${'5'.repeat(64)}\` |`);
    expect(card).toContain(`| Source commit | https://github.com/acme/fraud.git@${'4'.repeat(40)} (committed 2026-11-02T09:00:00Z) |`);
    expect(card).toContain('| Trigger | drift |');
    expect(card).toContain('| Approved by | alice |');
    expect(card).toContain('| input | features | FP32 | [-1, 6] |');
    expect(card).toContain('| auc | 0.93 |');
  });

  it('reads a legacy record (artifactSha256, artifactUri) and says what is not recorded', () => {
    const card = renderModelCard(
      viewRecord({ environment: 'staging', model: 'm', version: '1', artifactSha256: 'a'.repeat(64), imageDigest: `sha256:${'b'.repeat(64)}`, artifactUri: 's3://b/m.onnx' }),
      undefined,
    );
    expect(card).toContain(`| Model sha256 | \`${'a'.repeat(64)}\` |`);
    expect(card).toContain('| Model location | s3://b/m.onnx |');
    expect(card).toContain('| Source commit | - |');
    expect(card).toContain('No gate metrics recorded for this build.');
    expect(card).toContain('The app declares no model props for this environment.');
  });

  it('is committed beside the release record by slipway release', async () => {
    const work = mkdtempSync(join(tmpdir(), 'slipway-card-'));
    try {
      const repo = join(work, 'config-repo');
      await synth({ app: APP, repo });
      await release({ environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: 'c'.repeat(64), modelLocation: 'image', imageDigest: `sha256:${'d'.repeat(64)}` }, { app: APP, repo });
      expect(modelCardPath('staging', 'fraud-detector')).toBe('releases/staging/fraud-detector.md');
      const card = readFileSync(join(repo, 'releases/staging/fraud-detector.md'), 'utf8');
      expect(git(repo, 'show', 'HEAD:releases/staging/fraud-detector.md')).toBe(card);
      expect(card).toContain('# fraud-detector 1.4.0 in staging');
      expect(card).toContain('Scores card transactions for fraud from six tabular features.');
      expect(card).toContain('| Owner | risk-ml@acme.example |');
      expect(card).toContain('| output | probability | FP32 | [-1, 2] |');
      expect(card).toContain('| Labels | domain=payments, team=risk |');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
