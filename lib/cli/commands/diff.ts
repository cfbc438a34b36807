import type { Command } from 'commander';
import { type SynthDiff, diffSynth } from '../../compiler/diff.js';
import { Progress } from '../../compiler/progress.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description('Show what slipway synth would change in the config repository, object by object, without committing.')
    .option('--app <path>', 'app module: export default function build(app: App), or a script calling app.synth()', 'apps/main.ts')
    .option('--no-type-check', 'run a TypeScript app without type-checking it first')
    .option('--repo <dir>', 'config repository', './config-repo')
    .option('--env <name>', 'only this environment (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--allow-kind <apiVersion/Kind>', 'accept objects of a kind without upstream schema (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--exit-code', 'exit with 1 when there are changes')
    .action(async (flags: { app: string; typeCheck: boolean; repo: string; env: string[]; allowKind: string[]; exitCode?: boolean }) => {
      const result = await diffSynth({ app: flags.app, repo: flags.repo, environments: flags.env, allowKinds: flags.allowKind, typeCheck: flags.typeCheck, progress: new Progress() });
      printDiff(result);
      if (flags.exitCode && result.changedFiles > 0) process.exitCode = 1;
    });
}

/** Unified diffs on stdout, the summary on stderr (so `> changes.patch` keeps a clean patch). */
export function printDiff(result: SynthDiff): void {
  for (const patch of result.patches) process.stdout.write(patch);
  process.stderr.write(result.changedFiles === 0 ? 'no changes\n' : `${result.changedFiles} files would change\n`);
}
