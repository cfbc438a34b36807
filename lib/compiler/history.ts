import * as fs from 'node:fs';
import git from 'isomorphic-git';
import type { Release } from '../../constructs/release.js';
import { parseTrailers, type Trailer } from './commit-message.js';
import { BRANCH, ConfigRepo } from './config-repo.js';
import { type RecordView, viewRecord } from './record-view.js';
import { migrateLegacyRecord } from './releases.js';
import { RELEASES_DIR } from './releases.js';
import { parseSingleDocument } from './yaml.js';

/** What a commit did to one release record, read from its subject. */
export type ReleaseEventKind = 'release' | 'promotion' | 'rollback' | 'removal' | 'change';

export interface ReleaseEvent {
  readonly environment: string;
  readonly model: string;
  readonly commit: string;
  /** Commit time, ISO 8601 UTC. */
  readonly date: string;
  /** Commit time, seconds since the epoch. */
  readonly time: number;
  readonly subject: string;
  readonly kind: ReleaseEventKind;
  readonly trailers: readonly Trailer[];
  /** The record as of this commit, as stored; undefined when the commit removed it. */
  readonly release?: Release;
  /** The same record read through {@link viewRecord} (either record generation). */
  readonly record?: RecordView;
  /** Blob id of the record file. */
  readonly blob?: string;
  /** Why the record at this commit could not be read, when it could not. */
  readonly problem?: string;
}

const KIND_BY_SUBJECT: ReadonlyArray<[RegExp, ReleaseEventKind]> = [
  [/^release: /, 'release'],
  [/^promote: /, 'promotion'],
  [/^rollback: /, 'rollback'],
];

function kindOf(subject: string, removed: boolean): ReleaseEventKind {
  if (removed) return 'removal';
  return KIND_BY_SUBJECT.find(([re]) => re.test(subject))?.[1] ?? 'change';
}

/**
 * Every change to any release record on main, oldest first: the records at each commit are
 * compared with its parent's (first-parent history, so a merged review branch counts once,
 * at the merge).
 */
export async function releaseLog(repo: ConfigRepo, filter: { model?: string } = {}): Promise<ReleaseEvent[]> {
  if (!(await repo.head())) return [];
  const log = await git.log({ fs, gitdir: repo.gitdir, ref: BRANCH, cache: repo.cache });
  const chain = firstParentChain(log);
  const events: ReleaseEvent[] = [];
  let previous = new Map<string, string>();
  let previousTree: string | undefined;
  for (const entry of chain) {
    const current = new Map<string, string>();
    const releases = await repo.entryAt(entry.commit.tree, RELEASES_DIR);
    if (releases?.type === 'tree' && releases.oid === previousTree) continue;
    previousTree = releases?.oid;
    if (releases?.type === 'tree') {
      for (const [env, e] of await repo.readTree(releases.oid)) {
        if (e.type !== 'tree') continue;
        for (const [file, f] of await repo.readTree(e.oid)) {
          if (f.type !== 'blob' || !file.endsWith('.yaml')) continue;
          const model = file.slice(0, -'.yaml'.length);
          if (filter.model && model !== filter.model) continue;
          current.set(`${env}/${model}`, f.oid);
        }
      }
    }
    const subject = entry.commit.message.split('\n')[0]!;
    const trailers = parseTrailers(entry.commit.message);
    for (const key of [...new Set([...previous.keys(), ...current.keys()])].sort()) {
      const oid = current.get(key);
      if (oid === previous.get(key)) continue;
      const [environment, model] = key.split('/') as [string, string];
      let parsed: { release?: Release; record?: RecordView; problem?: string } = {};
      if (oid) {
        // A record someone broke by hand stays in history: it is reported, not fatal.
        try {
          const value = parseSingleDocument((await repo.readBlob(oid)).toString('utf8'), `${RELEASES_DIR}/${key}.yaml`);
          // Records from before the build record read as builds, as synth reads them.
          parsed = { release: migrateLegacyRecord(value) as Release, record: viewRecord(value) };
        } catch (err) {
          parsed = { problem: (err as Error).message };
        }
      }
      events.push({
        environment,
        model,
        commit: entry.oid,
        date: new Date(entry.commit.committer.timestamp * 1000).toISOString(),
        time: entry.commit.committer.timestamp,
        subject,
        kind: kindOf(subject, oid === undefined),
        trailers,
        ...parsed,
        ...(oid ? { blob: oid } : {}),
      });
    }
    previous = current;
  }
  return events;
}

type LogEntry = Awaited<ReturnType<typeof git.log>>[number];

// Oldest first, following first parents from the tip.
function firstParentChain(log: readonly LogEntry[]): LogEntry[] {
  const byOid = new Map(log.map((e) => [e.oid, e]));
  const chain: LogEntry[] = [];
  let cursor: LogEntry | undefined = log[0];
  while (cursor) {
    chain.push(cursor);
    const parent: string | undefined = cursor.commit.parent[0];
    cursor = parent ? byOid.get(parent) : undefined;
  }
  return chain.reverse();
}

/** The release events of `model`, per environment, oldest first (`slipway history`). */
export async function releaseHistory(repoDir: string, model: string): Promise<Map<string, ReleaseEvent[]>> {
  const repo = await ConfigRepo.open(repoDir);
  const out = new Map<string, ReleaseEvent[]>();
  for (const e of await releaseLog(repo, { model })) out.set(e.environment, [...(out.get(e.environment) ?? []), e]);
  return out;
}
