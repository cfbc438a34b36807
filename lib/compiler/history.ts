import * as fs from 'node:fs';
import git from 'isomorphic-git';
import type { Release } from '../../constructs/release.js';
import { BRANCH, ConfigRepo } from './config-repo.js';
import { RELEASES_DIR, parseRelease, releasePath } from './releases.js';

export interface ReleaseEvent {
  readonly environment: string;
  readonly commit: string;
  /** Commit time, ISO 8601 UTC. */
  readonly date: string;
  readonly subject: string;
  /** The record as of this commit; undefined when the commit removed it. */
  readonly release?: Release;
}

/**
 * Every change to the release records of `model`, per environment, oldest first, read
 * from the Git log of main: the record at each commit is compared with its parent's.
 */
export async function releaseHistory(repoDir: string, model: string): Promise<Map<string, ReleaseEvent[]>> {
  const repo = await ConfigRepo.open(repoDir);
  const out = new Map<string, ReleaseEvent[]>();
  if (!(await repo.head())) return out;
  const log = await git.log({ fs, gitdir: repo.gitdir, ref: BRANCH, cache: repo.cache });
  const previous = new Map<string, string>();
  for (const entry of log.reverse()) {
    const current = new Map<string, string>();
    const releases = await repo.entryAt(entry.commit.tree, RELEASES_DIR);
    if (releases?.type === 'tree') {
      for (const [env, e] of await repo.readTree(releases.oid)) {
        if (e.type !== 'tree') continue;
        const record = (await repo.readTree(e.oid)).get(`${model}.yaml`);
        if (record) current.set(env, record.oid);
      }
    }
    for (const env of new Set([...previous.keys(), ...current.keys()])) {
      const oid = current.get(env);
      if (oid === previous.get(env)) continue;
      const event: ReleaseEvent = {
        environment: env,
        commit: entry.oid,
        date: new Date(entry.commit.committer.timestamp * 1000).toISOString(),
        subject: entry.commit.message.split('\n')[0]!,
        ...(oid ? { release: parseRelease(releasePath(env, model), (await repo.readBlob(oid)).toString('utf8')) } : {}),
      };
      out.set(env, [...(out.get(env) ?? []), event]);
    }
    previous.clear();
    for (const [k, v] of current) previous.set(k, v);
  }
  return out;
}
