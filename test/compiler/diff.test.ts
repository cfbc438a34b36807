import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffSynth } from '../../lib/compiler/diff.js';
import { synth } from '../../lib/compiler/synth.js';
import { snapshotDir } from './support/repo-snapshot.js';

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url).pathname;

let work: string;
let repo: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-diff-'));
  repo = join(work, 'config-repo');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('diffSynth', () => {
  it('prints one unified diff per changed object that git apply accepts, and writes nothing', async () => {
    // GIVEN a synthesized repository
    await synth({ app: fixture('shop'), repo });
    const before = snapshotDir(repo);
    // WHEN the new image and the removed worker are diffed
    const { patches } = await diffSynth({ app: fixture('shop-v2'), repo, environments: ['prod'] });
    // THEN prod's Deployment diff shows the image line, and the repository is unchanged
    expect(patches).toHaveLength(1);
    expect(patches[0]).toBe(
      [
        '--- a/environments/prod/web/deployment-web.yaml',
        '+++ b/environments/prod/web/deployment-web.yaml',
        '@@ -19,7 +19,7 @@',
        '         app.kubernetes.io/version: 1.0.0',
        '     spec:',
        '       containers:',
        '-        - image: nginx:1.27',
        '+        - image: nginx:1.28',
        '           name: web',
        '           ports:',
        '             - containerPort: 80',
        '',
      ].join('\n'),
    );
    expect(snapshotDir(repo)).toEqual(before);
    // AND git apply accepts the patch
    writeFileSync(join(work, 'change.patch'), patches.join(''));
    execFileSync('git', ['-C', repo, 'apply', '--check', join(work, 'change.patch')]);
  });

  it('shows deleted objects against /dev/null and nothing when the app is unchanged', async () => {
    await synth({ app: fixture('shop'), repo });
    const removed = await diffSynth({ app: fixture('shop-no-worker'), repo });
    expect(removed.patches.filter((p) => p.includes('+++ /dev/null'))).toHaveLength(6);
    expect((await diffSynth({ app: fixture('shop'), repo })).changedFiles).toBe(0);
  });
});
