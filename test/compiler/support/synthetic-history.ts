import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toYaml } from '../../../lib/compiler/yaml.js';

/** Hours after this instant name the commit times of the synthetic history. */
export const T0 = Date.parse('2026-09-01T00:00:00Z');
export const at = (hours: number): string => new Date(T0 + hours * 3_600_000).toISOString().replace('.000Z', 'Z');

/**
 * A config repository history written commit by commit with the git CLI at chosen commit
 * times: release records in the build-record shape of CONTRACTS.md (lineage, metrics,
 * trigger) and one legacy record, with releases, promotions, rollbacks and a failed release fixed by the next one.
 */
export function writeSyntheticHistory(repo: string): void {
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  const commit = (hours: number, subject: string, files: Record<string, unknown>) => {
    for (const [path, value] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), typeof value === 'string' ? value : toYaml(value));
    }
    execFileSync('git', ['-C', repo, 'add', '-A']);
    const date = `${at(hours)}`;
    execFileSync('git', ['-C', repo, '-c', 'user.name=ci', '-c', 'user.email=ci@example.com', 'commit', '-q', '--allow-empty', '-m', subject], {
      env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
  };
  const build = (version: string, hex: string, committedAtHours: number, trigger: string, builtAtHours: number, auc: number) => ({
    model: 'fraud-detector',
    version,
    modelSha256: hex.repeat(64),
    modelLocation: `s3://acme-ml-models/fraud-detector/${version}/model.onnx`,
    imageDigest: `sha256:${hex.repeat(64)}`,
    source: { repository: 'https://github.com/acme/fraud.git', commit: hex.repeat(40), committedAt: at(committedAtHours) },
    metrics: { auc },
    trigger,
    builtAt: at(builtAtHours),
  });
  const v10 = build('1.0.0', 'a', -2, 'push', -1, 0.9);
  const v11 = build('1.1.0', 'b', 46, 'drift', 47, 0.88);
  const v12 = build('1.2.0', 'c', 70, 'drift', 71, 0.93);
  const v13 = build('1.3.0', 'd', 78, 'manual', 79, 0.94);
  const staging = 'releases/staging/fraud-detector.yaml';
  const prod = 'releases/prod/fraud-detector.yaml';
  commit(-24, 'synth: 4 applications changed in prod, staging', { 'README.md': 'config\n' });
  commit(0, 'release: fraud-detector 1.0.0 to staging', { [staging]: { environment: 'staging', ...v10 } });
  commit(10, 'release: image-classifier 2.0.0 to staging', {
    'releases/staging/image-classifier.yaml': { environment: 'staging', model: 'image-classifier', version: '2.0.0', artifactSha256: 'e'.repeat(64), imageDigest: `sha256:${'e'.repeat(64)}` },
  });
  commit(24, 'promote: fraud-detector 1.0.0 from staging to prod', { [prod]: { environment: 'prod', ...v10 } });
  commit(48, 'release: fraud-detector 1.1.0 to staging', { [staging]: { environment: 'staging', ...v11 } });
  commit(50, 'promote: fraud-detector 1.1.0 from staging to prod', { [prod]: { environment: 'prod', ...v11, approvedBy: ['alice'] } });
  commit(52, 'rollback: fraud-detector in prod from 1.1.0 to 1.0.0', { [prod]: { environment: 'prod', ...v10 } });
  commit(73, 'release: fraud-detector 1.2.0 to staging', { [staging]: { environment: 'staging', ...v12 } });
  // 1.3.0 is released as the fix of 1.2.0 (slipway release --fixes 1.2.0).
  commit(80, 'release: fraud-detector 1.3.0 to staging\n\nstaging: fraud-detector\n\nFixes: 1.2.0', { [staging]: { environment: 'staging', ...v13 } });
  commit(120, 'promote: fraud-detector 1.3.0 from staging to prod', { [prod]: { environment: 'prod', ...v13, approvedBy: ['bob'] } });
  commit(168, 'synth: 1 application changed in prod', { 'README.md': 'config repository\n' });
}
