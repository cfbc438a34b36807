import type { Command } from 'commander';
import { synth } from '../../compiler/synth.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

export function register(program: Command): void {
  withConfigRepoFlags(
    program.command('synth').description('Compile the app into the Argo CD config repository and commit when it changed.'),
    { push: true },
  )
    .option('--env <name>', 'only re-synthesize this environment (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (flags: ConfigRepoFlags & { env: string[] }) => {
      printResult(await synth({ ...synthOptions(flags), environments: flags.env }));
    });
}
