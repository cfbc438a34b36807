import type { Command } from 'commander';
import { Progress } from '../compiler/progress.js';
import { applicationTable } from '../compiler/report.js';
import type { SynthOptions, SynthResult } from '../compiler/synth.js';

/** Commander argument parser for a repeatable flag: every value, in order. */
export const collect = (value: string, all: string[]): string[] => [...all, value];

/** Flags shared by the commands that write the config repository. */
export function withConfigRepoFlags(command: Command, options: { push: boolean; approval?: boolean }): Command {
  command
    .option('--app <path>', 'app module: export default function build(app: App), or a script calling app.synth()', 'apps/main.ts')
    .option('--no-type-check', 'run a TypeScript app without type-checking it first')
    .option('--repo <dir>', 'config repository (created on the first run)', './config-repo')
    .option('--allow-kind <apiVersion/Kind>', 'accept objects of a kind without upstream schema (repeatable)', collect, [] as string[]);
  if (options.push) {
    command
      .option('--force', 'overwrite uncommitted edits in the config repository')
      .option('--push [remote]', 'push main to a remote name or https URL (token from SLIPWAY_GIT_TOKEN)')
      .option('--allow-insecure-http', 'allow an http:// remote (the token travels unencrypted: test servers, trusted networks only)');
  }
  if (options.approval) {
    command
      .option('--approved-by <name>', 'who approved this release, for environments with requireApproval (repeatable)', collect, [] as string[])
      .option('--review', 'commit on the review branch release/<env>/<model>-<version> for a pull request; main is untouched');
  }
  return command;
}

export interface ConfigRepoFlags {
  app: string;
  repo: string;
  allowKind: string[];
  typeCheck: boolean;
  force?: boolean;
  push?: string | boolean;
  allowInsecureHttp?: boolean;
  approvedBy?: string[];
  review?: boolean;
}

export function synthOptions(flags: ConfigRepoFlags): Omit<SynthOptions, 'environments' | 'releases' | 'title' | 'trailers'> {
  return {
    app: flags.app,
    repo: flags.repo,
    allowKinds: flags.allowKind,
    typeCheck: flags.typeCheck,
    progress: new Progress(),
    ...(flags.force ? { force: true } : {}),
    ...(flags.push ? { push: flags.push === true ? 'origin' : flags.push } : {}),
    ...(flags.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...((flags.approvedBy?.length ?? 0) > 0 || flags.review ? { approval: { approvedBy: flags.approvedBy ?? [], ...(flags.review ? { review: true } : {}) } } : {}),
  };
}

export function printResult(result: SynthResult, out: NodeJS.WritableStream = process.stdout): void {
  if (result.rebuiltIndex) out.write('rebuilt the damaged index (.git/index) from HEAD\n');
  if (result.recovered) out.write(`finished the working tree of an interrupted run (commit ${result.recovered.slice(0, 12)})\n`);
  if (result.applications.length > 0) out.write(`${applicationTable(result.applications)}\n\n`);
  if (result.review && result.commit) {
    out.write(`commit ${result.commit} on branch ${result.review.branch} (${result.changes.length} files changed); main is unchanged\n`);
    out.write(
      result.review.pushedTo
        ? `pushed ${result.review.branch} to ${result.review.pushedTo}: open a pull request from ${result.review.branch} into main\n`
        : `no remote configured: push ${result.review.branch} and open a pull request from it into main\n`,
    );
    return;
  }
  if (result.commit) out.write(`commit ${result.commit} (${result.changes.length} files changed)\n`);
  else out.write(`no changes${result.head ? ` (main at ${result.head})` : ''}\n`);
  if (result.pushed) out.write(`pushed to ${result.pushed.url}${result.pushed.attempts > 1 ? ` after ${result.pushed.attempts} attempts` : ''}\n`);
}
