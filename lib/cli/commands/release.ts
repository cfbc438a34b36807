import type { Command } from 'commander';
import { previewRelease, release } from '../../compiler/release-ops.js';
import { printDiff } from './diff.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

interface ReleaseFlags extends ConfigRepoFlags {
  env: string;
  model: string;
  version: string;
  artifactSha256: string;
  imageDigest: string;
  artifactUri?: string;
  dryRun?: boolean;
}

export function register(program: Command): void {
  withConfigRepoFlags(
    program
      .command('release')
      .description("Record which build of a model runs in an environment and re-synthesize it, in one commit.")
      .requiredOption('--env <name>', 'environment')
      .requiredOption('--model <name>', 'model name')
      .requiredOption('--version <version>', 'model version, e.g. 1.4.0')
      .requiredOption('--artifact-sha256 <hex>', 'sha256 of the model artifact (64 hex digits)')
      .requiredOption('--image-digest <digest>', 'runtime image digest, sha256:<64 hex>')
      .option('--artifact-uri <uri>', "artifact location, when it differs from the model's props")
      .option('--dry-run', 'print what the release would change, as unified diffs, and write nothing'),
    { push: true, approval: true },
  ).action(async (flags: ReleaseFlags) => {
    const record = {
      environment: flags.env,
      model: flags.model,
      version: flags.version,
      artifactSha256: flags.artifactSha256,
      imageDigest: flags.imageDigest,
      ...(flags.artifactUri !== undefined ? { artifactUri: flags.artifactUri } : {}),
    };
    if (flags.dryRun) printDiff(await previewRelease(record, synthOptions(flags)));
    else printResult(await release(record, synthOptions(flags)));
  });
}
