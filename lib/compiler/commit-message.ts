import { basename } from 'node:path';
import type { Release } from '../../constructs/release.js';
import type { FileChange } from './config-repo.js';
import { RELEASES_DIR } from './releases.js';

/** A `Key: value` line in the last paragraph of a commit message (git interpret-trailers). */
export interface Trailer {
  readonly key: string;
  readonly value: string;
}

export interface CommitMessageInput {
  readonly changes: readonly FileChange[];
  /** Release records by path, to describe the records that changed. */
  readonly releases: ReadonlyMap<string, Release>;
  /** First line; by default a count of changed applications. */
  readonly title?: string;
  /** The app's source checkout, when it is one. */
  readonly source?: { readonly dir: string; readonly commit: string };
  readonly trailers?: readonly Trailer[];
}

/** Changed applications per environment, for commit messages and reports. */
export function changedApplications(changes: readonly FileChange[]): Map<string, Set<string>> {
  const byEnv = new Map<string, Set<string>>();
  const add = (env: string, app: string) => byEnv.set(env, (byEnv.get(env) ?? new Set()).add(app));
  for (const { path } of changes) {
    const parts = path.split('/');
    if (parts[0] === 'environments' && parts.length >= 4) add(parts[1]!, parts[2]!);
    else if (parts[0] === 'apps' && parts.length === 3 && parts[2] !== 'kustomization.yaml') add(parts[1]!, parts[2]!.replace(/\.yaml$/, ''));
  }
  return byEnv;
}

export function commitMessage(input: CommitMessageInput): string {
  const { changes, releases } = input;
  const byEnv = changedApplications(changes);
  const apps = [...byEnv.values()].reduce((n, s) => n + s.size, 0);
  const title = input.title ?? `synth: ${apps} application${apps === 1 ? '' : 's'} changed${byEnv.size > 0 ? ` in ${[...byEnv.keys()].sort().join(', ')}` : ''}`;
  const lines = [title, ''];
  for (const env of [...byEnv.keys()].sort()) lines.push(`${env}: ${[...byEnv.get(env)!].sort().join(', ')}`);
  const releaseLines = changes
    .filter((c) => c.path.startsWith(`${RELEASES_DIR}/`) && c.path.endsWith('.yaml') && c.newOid)
    .map((c) => releases.get(c.path))
    .filter((r): r is Release => r !== undefined)
    .map((r) => `release: ${r.environment}/${r.model} ${r.version} (image ${r.imageDigest.slice(0, 19)})`);
  lines.push(...releaseLines);
  if (changes.some((c) => c.path.startsWith('platform/'))) lines.push('platform: AppProject changed');
  lines.push('', input.source ? `Source: ${basename(input.source.dir)}@${input.source.commit}` : 'Source: not a Git checkout');
  for (const t of input.trailers ?? []) lines.push(`${t.key}: ${t.value}`);
  return `${lines.join('\n')}\n`;
}

/** The trailers of a commit message (last paragraph), in order. */
export function parseTrailers(message: string): Trailer[] {
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const last = paragraphs[paragraphs.length - 1] ?? '';
  return last
    .split('\n')
    .map((l) => /^([A-Za-z][A-Za-z0-9-]*): (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[1]!, value: m[2]! }));
}
