import type { Command } from 'commander';
import { releaseHistory } from '../../compiler/history.js';
import { formatTable } from '../../compiler/report.js';

export function register(program: Command): void {
  program
    .command('history')
    .description('List the releases of a model per environment, from the config repository Git log.')
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
          e.release?.version ?? '(removed)',
          e.release ? `${e.release.modelSha256.slice(0, 12)}…` : '-',
          e.release ? `${e.release.imageDigest.slice(0, 19)}…` : '-',
          e.commit.slice(0, 12),
          e.subject,
        ]);
        process.stdout.write(`${flags.model} in ${env}:\n${formatTable(['DATE', 'VERSION', 'ARTIFACT', 'IMAGE', 'COMMIT', 'SUBJECT'], rows)}\n\n`);
      }
    });
}
