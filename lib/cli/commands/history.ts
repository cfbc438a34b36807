import type { Command } from 'commander';
import { type ReleaseEvent, releaseHistory } from '../../compiler/history.js';
import { formatTable } from '../../compiler/report.js';

/** What the commit did, as `slipway history` shows it. */
export function describeEvent(e: ReleaseEvent): string {
  const trailer = (key: string) => e.trailers.find((t) => t.key === key)?.value;
  switch (e.kind) {
    case 'rollback':
      return `rollback from ${trailer('Rollback-from')?.split(' ')[0] ?? '?'}`;
    case 'promotion': {
      const from = /from (\S+) to /.exec(e.subject)?.[1];
      return from ? `promotion from ${from}` : 'promotion';
    }
    case 'removal':
      return 'removed';
    default:
      return e.kind;
  }
}

export function register(program: Command): void {
  program
    .command('history')
    .description('List the releases, promotions and rollbacks of a model per environment, from the config repository Git log.')
    .requiredOption('--model <name>', 'model name')
    .option('--repo <dir>', 'config repository', './config-repo')
    .action(async (flags: { model: string; repo: string }) => {
      const history = await releaseHistory(flags.repo, flags.model);
      if (history.size === 0) {
        process.stdout.write(`no releases of ${flags.model} in ${flags.repo}\n`);
        return;
      }
      for (const env of [...history.keys()].sort()) {
        const rows = history.get(env)!.map((e) => [
          e.date.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          describeEvent(e),
          e.record?.version ?? (e.problem ? `(unreadable: ${e.problem})` : '(removed)'),
          e.record?.modelSha256 ? `${e.record.modelSha256.slice(0, 12)}…` : '-',
          e.record?.imageDigest ? `${e.record.imageDigest.slice(0, 19)}…` : '-',
          e.record && e.record.approvedBy.length > 0 ? e.record.approvedBy.join(', ') : '-',
          e.commit.slice(0, 12),
          e.subject,
        ]);
        process.stdout.write(
          `${flags.model} in ${env}:\n${formatTable(['DATE', 'KIND', 'VERSION', 'MODEL SHA256', 'IMAGE', 'APPROVED BY', 'COMMIT', 'SUBJECT'], rows)}\n\n`,
        );
      }
    });
}
