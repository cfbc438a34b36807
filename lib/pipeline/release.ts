import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { release, type ReleaseOptions } from '../compiler/release-ops.js';
import type { SynthResult } from '../compiler/synth.js';
import { readBuildFile, releaseOf } from '../compiler/releases.js';
import { SlipwayError } from '../errors.js';
import { verifyBuild } from '../supply-chain/attest.js';

export interface PipelineReleaseOptions extends Omit<ReleaseOptions, 'app'> {
  /** Checkout of the repository that holds the slipway app. */
  readonly platformDir: string;
  /** The app module, relative to platformDir. */
  readonly appFile: string;
  readonly environment: string;
  readonly model: string;
  /** build.json written by the package step. */
  readonly buildFile: string;
  /** Refuse the build unless its signatures (beside build.json) verify with one of these keys. @default no check */
  readonly trustedKeys?: ReadonlyMap<string, KeyObject>;
}

/**
 * The pipeline's last step: installs the platform's dependencies (its app imports them) and
 * records the build with `slipway release --build`, pushing the commit.
 */
export async function pipelineRelease(options: PipelineReleaseOptions, log: (line: string) => void): Promise<SynthResult> {
  const build = readBuildFile(options.buildFile, { model: options.model });
  if (options.trustedKeys) {
    // Before anything is installed or committed: a build that does not verify changes nothing.
    const { keyIds } = verifyBuild({ build, dir: dirname(options.buildFile), trusted: options.trustedKeys });
    log(`verified the image signature, SLSA provenance and model signature of ${build.model} ${build.version} (key ${keyIds.join(', ')})`);
  }
  const platformDir = resolve(options.platformDir);
  if (!existsSync(join(platformDir, 'node_modules')) && existsSync(join(platformDir, 'package-lock.json'))) {
    log(`installing the dependencies of ${platformDir}`);
    const npm = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: platformDir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (npm.status !== 0) throw new SlipwayError('PIPELINE_RELEASE_FAILED', `npm ci in ${platformDir} exited with ${npm.status ?? npm.signal}`);
  }
  const { platformDir: _p, appFile, environment, model: _m, buildFile: _b, trustedKeys: _t, ...releaseOptions } = options;
  return release(releaseOf(build, environment), { ...releaseOptions, app: join(platformDir, appFile) });
}
