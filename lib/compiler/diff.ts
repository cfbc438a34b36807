import { createTwoFilesPatch } from 'diff';
import { ConfigRepo } from './config-repo.js';
import { withExitGuard } from './exit-guard.js';
import { createContext, plan, type SynthOptions } from './synth.js';

export interface SynthDiff {
  /** Unified diffs, one per changed file (= object), in path order. */
  readonly patches: readonly string[];
  readonly changedFiles: number;
}

/** What `slipway synth` would change, as unified diffs against main; writes nothing. */
export async function diffSynth(options: Pick<SynthOptions, 'app' | 'repo' | 'environments' | 'allowKinds' | 'progress' | 'releases' | 'typeCheck'>): Promise<SynthDiff> {
  return withExitGuard(options.app, () => diffWith(options));
}

async function diffWith(options: Pick<SynthOptions, 'app' | 'repo' | 'environments' | 'allowKinds' | 'progress' | 'releases' | 'typeCheck'>): Promise<SynthDiff> {
  const ctx = await createContext(options);
  try {
    const repo = ConfigRepo.exists(options.repo) ? await ConfigRepo.open(options.repo) : ConfigRepo.notYetCreated(options.repo);
    const p = await plan(repo, await repo.head(), ctx);
    const patches: string[] = [];
    for (const change of p.diff.changes) {
      const before = change.oldOid ? (await repo.readBlob(change.oldOid)).toString('utf8') : '';
      const after = change.newOid ? (change.content ?? (await repo.readBlob(change.newOid))).toString('utf8') : '';
      patches.push(
        createTwoFilesPatch(
          change.oldOid ? `a/${change.path}` : '/dev/null',
          change.newOid ? `b/${change.path}` : '/dev/null',
          before,
          after,
          undefined,
          undefined,
          { context: 3 },
        ).replace(/^=+\n/, ''),
      );
    }
    return { patches, changedFiles: p.diff.changes.length };
  } finally {
    ctx.progress.clear();
  }
}
