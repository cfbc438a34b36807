import type { Command } from 'commander';
import type { Trailer } from '../../compiler/commit-message.js';
import { releaseChallenger } from '../../compiler/challenger.js';
import { FIXES_TRAILER } from '../../compiler/kpis.js';
import { previewRelease, release } from '../../compiler/release-ops.js';
import { readBuildFile, releaseOf } from '../../compiler/releases.js';
import { SlipwayError } from '../../errors.js';
import { IMAGE_LOCATION, type Release } from '../../vocabulary/build.js';
import { verifyBuild } from '../../supply-chain/attest.js';
import { trustedKeysFrom } from '../../supply-chain/keys.js';
import { printDiff } from './diff.js';
import { dirname } from 'node:path';
import { type ConfigRepoFlags, collect, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

interface ReleaseFlags extends ConfigRepoFlags {
  env: string;
  model: string;
  build?: string;
  version?: string;
  artifactSha256?: string;
  artifactUri?: string;
  baselineSha256?: string;
  baselineUri?: string;
  imageDigest?: string;
  fixes: string[];
  challenger?: boolean;
  dryRun?: boolean;
  trustedKeys?: string;
}

const SHORTHAND = ['version', 'artifactSha256', 'artifactUri', 'baselineSha256', 'baselineUri', 'imageDigest'] as const;
const flagName = (field: string) => `--${field.replace(/[A-Z0-9]+/g, (m) => `-${m.toLowerCase()}`)}`;

/** The record to write: the whole build file, or a build spelled out in flags. */
function recordOf(flags: ReleaseFlags): Release {
  const given = SHORTHAND.filter((f) => flags[f] !== undefined);
  if (flags.build !== undefined) {
    if (given.length > 0) {
      throw new SlipwayError('INVALID_ARGUMENT', `--build records the whole build; drop ${given.map(flagName).join(', ')} (edit build.json instead)`);
    }
    const build = readBuildFile(flags.build, { model: flags.model });
    const trusted = trustedKeysFrom(flags.trustedKeys);
    if (trusted) verifyBuild({ build, dir: dirname(flags.build), trusted });
    return releaseOf(build, flags.env);
  }
  if (flags.trustedKeys !== undefined) throw new SlipwayError('INVALID_ARGUMENT', '--trusted-keys verifies the signatures beside a build file: pass --build build.json');
  const missing = (['version', 'artifactSha256', 'imageDigest'] as const).filter((f) => flags[f] === undefined);
  if (missing.length > 0) {
    throw new SlipwayError('INVALID_ARGUMENT', `expected --build build.json, or ${missing.map(flagName).join(', ')} (per-field shorthand)`);
  }
  return {
    environment: flags.env,
    model: flags.model,
    version: flags.version!,
    modelSha256: flags.artifactSha256!,
    modelLocation: flags.artifactUri ?? IMAGE_LOCATION,
    ...(flags.baselineSha256 !== undefined ? { baselineSha256: flags.baselineSha256 } : {}),
    ...(flags.baselineUri !== undefined || flags.baselineSha256 !== undefined
      ? { baselineLocation: flags.baselineUri ?? (flags.artifactUri === undefined ? IMAGE_LOCATION : undefined) }
      : {}),
    imageDigest: flags.imageDigest!,
  } as Release;
}

/** `--fixes`: versions, never the released one; one trailer each. */
function fixesTrailers(fixes: readonly string[], record: Release): Trailer[] {
  const bad = fixes.filter((v) => !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(v) || v === record.version);
  if (bad.length > 0) {
    throw new SlipwayError('RELEASE_FIXES_INVALID', `--fixes: expected versions of ${record.model} released before ${record.version}, got ${bad.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  return [...new Set(fixes)].map((value) => ({ key: FIXES_TRAILER, value }));
}

export function register(program: Command): void {
  withConfigRepoFlags(
    program
      .command('release')
      .description('Record which build of a model runs in an environment and re-synthesize it, in one commit.')
      .requiredOption('--env <name>', 'environment')
      .requiredOption('--model <name>', 'model name')
      .option('--build <file>', 'build record written by the pipeline (build.json, schemas/build.schema.json): recorded whole')
      .option('--version <version>', 'shorthand: model version, e.g. 1.4.0')
      .option('--artifact-sha256 <hex>', 'shorthand: sha256 of model.onnx (64 hex digits)')
      .option('--artifact-uri <uri>', "shorthand: where model.onnx is, a store URI or 'image' (default: image)")
      .option('--baseline-sha256 <hex>', 'shorthand: sha256 of baseline.json')
      .option('--baseline-uri <uri>', "shorthand: where baseline.json is (default: where the model is, when that is 'image')")
      .option('--image-digest <digest>', 'shorthand: runtime image digest, sha256:<64 hex>')
      .option('--fixes <version>', 'this release fixes that version (repeatable): recorded as a Fixes trailer, counted by slipway kpis as a failure of that version and as rework', collect, [] as string[])
      .option('--challenger', "record the build as the challenger beside the environment's champion: it serves mirrored traffic until slipway promote --challenger")
      .option('--trusted-keys <file>', 'PEM public key(s): refuse a --build whose signatures (image.sigstore.json, provenance.sigstore.json, model.sig beside it) do not verify; default: $SLIPWAY_TRUSTED_KEYS (PEM)')
      .option('--dry-run', 'print what the release would change, as unified diffs, and write nothing'),
    { push: true, approval: true },
  ).action(async (flags: ReleaseFlags) => {
    const record = recordOf(flags);
    if (flags.challenger) {
      if (flags.dryRun || flags.fixes.length > 0) throw new SlipwayError('CHALLENGER_INVALID', '--challenger: --dry-run and --fixes apply to champion releases only');
      printResult(await releaseChallenger(record, flags.env, synthOptions(flags)));
      return;
    }
    const options = { ...synthOptions(flags), ...(flags.fixes.length > 0 ? { trailers: fixesTrailers(flags.fixes, record) } : {}) };
    if (flags.dryRun) printDiff(await previewRelease(record, options));
    else printResult(await release(record, options));
  });
}
