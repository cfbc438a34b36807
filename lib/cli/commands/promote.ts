import type { Command } from 'commander';
import { promote } from '../../compiler/release-ops.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

export function register(program: Command): void {
  withConfigRepoFlags(
    program
      .command('promote')
      .description('Copy the release of a model from one environment to another and re-synthesize it, in one commit.')
      .requiredOption('--model <name>', 'model name')
      .requiredOption('--from <env>', 'environment whose release is copied')
      .requiredOption('--to <env>', 'environment that receives it'),
    { push: true, approval: true },
  ).action(async (flags: ConfigRepoFlags & { model: string; from: string; to: string }) => {
    printResult(await promote(flags.model, flags.from, flags.to, synthOptions(flags)));
  });
}
