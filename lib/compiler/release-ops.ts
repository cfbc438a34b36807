import type { Release } from '../vocabulary/build.js';
import { SlipwayError } from '../errors.js';
import { ConfigRepo } from './config-repo.js';
import { type SynthDiff, diffSynth } from './diff.js';
import { checkRelease, parseRelease, releasePath } from './releases.js';
import { type SynthOptions, type SynthResult, synth } from './synth.js';

export type ReleaseOptions = Omit<SynthOptions, 'releases' | 'environments' | 'title'>;

/** Writes the release record of one model in one environment and re-synthesizes it, in one commit. */
export async function release(record: Release, options: ReleaseOptions): Promise<SynthResult> {
  const checked = checkRelease(stripUndefined(record), 'release');
  return synth({
    ...options,
    releases: [checked],
    environments: [checked.environment],
    title: `release: ${checked.model} ${checked.version} to ${checked.environment}`,
  });
}

/** What {@link release} would commit, as unified diffs; writes nothing (`slipway release --dry-run`). */
export async function previewRelease(record: Release, options: ReleaseOptions): Promise<SynthDiff> {
  const checked = checkRelease(stripUndefined(record), 'release');
  return diffSynth({ ...options, releases: [checked], environments: [checked.environment] });
}

/** Copies the release of `model` in `from` to `to` and re-synthesizes `to`, in one commit. */
export async function promote(model: string, from: string, to: string, options: ReleaseOptions): Promise<SynthResult> {
  if (from === to) throw new SlipwayError('INVALID_ARGUMENT', `--from and --to are both '${from}': promote copies a release to another environment`);
  const repo = await ConfigRepo.open(options.repo);
  const path = releasePath(from, model);
  const entry = await repo.entryAt(await repo.treeOf(await repo.head()), path);
  if (!entry || entry.type !== 'blob') {
    throw new SlipwayError('RELEASE_NOT_FOUND', `no release of '${model}' in '${from}' (${path} is missing in ${options.repo}): run slipway release first`);
  }
  const source = parseRelease(path, (await repo.readBlob(entry.oid)).toString('utf8'));
  const promoted: Release = { ...source, environment: to };
  return synth({
    ...options,
    releases: [promoted],
    environments: [to],
    title: `promote: ${model} ${source.version} from ${from} to ${to}`,
  });
}

function stripUndefined(record: Release): Release {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as Release;
}
