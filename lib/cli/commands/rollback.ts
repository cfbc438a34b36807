import type { Command } from 'commander';
import { rollback } from '../../compiler/rollback.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

export function register(program: Command): void {
  withConfigRepoFlags(
    program
      .command('rollback')
      .description('Restore the previous (or --to) release of a model in an environment and re-synthesize it, in one commit.')
      .requiredOption('--env <name>', 'environment')
      .requiredOption('--model <name>', 'model name')
      .option('--to <version>', 'version to restore (default: the one before the current release)'),
    { push: true },
  ).action(async (flags: ConfigRepoFlags & { env: string; model: string; to?: string }) => {
    const result = await rollback({ environment: flags.env, model: flags.model, ...(flags.to ? { to: flags.to } : {}) }, synthOptions(flags));
    process.stdout.write(`rolled back ${flags.model} in ${flags.env} from ${result.from} to ${result.to}\n`);
    printResult(result);
  });
}
