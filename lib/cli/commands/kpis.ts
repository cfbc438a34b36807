import { Option, type Command } from 'commander';
import { writeFileAtomicSync } from '../../compiler/durable-fs.js';
import { KPI_FORMATS, type KpiFormat, renderKpis } from '../../compiler/kpi-report.js';
import { computeKpis } from '../../compiler/kpis.js';
import { collect } from '../config-repo-flags.js';

export function register(program: Command): void {
  program
    .command('kpis')
    .description('Delivery KPIs (deployment frequency, lead time, change failure rate, time to restore, rework rate, retrains, gate metrics) from the config repository history alone.')
    .option('--repo <dir>', 'config repository', './config-repo')
    .option('--since <duration>', 'window ending at main\'s head commit, e.g. 90d, 12w, 36h', '90d')
    .option('--env <name>', 'only this environment (repeatable)', collect, [] as string[])
    .option('--model <name>', 'only this model (repeatable)', collect, [] as string[])
    .option('--prod-env <name>', 'the environment that counts as production', 'prod')
    .addOption(new Option('--format <format>', 'output format').choices([...KPI_FORMATS]).default('table'))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (flags: { repo: string; since: string; env: string[]; model: string[]; prodEnv: string; format: KpiFormat; out?: string }) => {
      const report = await computeKpis({
        repo: flags.repo,
        since: flags.since,
        environments: flags.env,
        models: flags.model,
        prodEnvironment: flags.prodEnv,
      });
      const text = renderKpis(report, flags.format);
      if (!flags.out) {
        process.stdout.write(text);
        return;
      }
      // A textfile collector may read the file at any moment: replace it whole.
      writeFileAtomicSync(flags.out, text);
    });
}
