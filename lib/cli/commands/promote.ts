import type { Command } from 'commander';
import { measureFromPrometheus, promoteChallenger } from '../../compiler/challenger.js';
import { promote } from '../../compiler/release-ops.js';
import { SlipwayError } from '../../errors.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

interface PromoteFlags extends ConfigRepoFlags {
  model: string;
  from?: string;
  to?: string;
  challenger?: boolean;
  env?: string;
  prometheusUrl?: string;
  metric: string;
  margin: string;
  minSamples: string;
}

export function register(program: Command): void {
  withConfigRepoFlags(
    program
      .command('promote')
      .description('Copy the release of a model from one environment to another, or (--challenger) make the challenger the champion when its live metric wins; re-synthesize, in one commit.')
      .requiredOption('--model <name>', 'model name')
      .option('--from <env>', 'environment whose release is copied')
      .option('--to <env>', 'environment that receives it')
      .option('--challenger', 'promote the challenger of --env over its champion, when it beats it by --margin on --metric (read from --prometheus-url)')
      .option('--env <env>', 'with --challenger: the environment')
      .option('--prometheus-url <url>', 'with --challenger: the Prometheus that scrapes both runtimes')
      .option('--metric <name>', 'with --challenger: live metric compared (accuracy, precision, recall, auc, roc_auc, mae, rmse)', 'accuracy')
      .option('--margin <n>', 'with --challenger: how much better the challenger must be', '0.01')
      .option('--min-samples <n>', 'with --challenger: fewest labelled rows behind each value', '200'),
    { push: true, approval: true },
  ).action(async (flags: PromoteFlags) => {
    if (!flags.challenger) {
      if (!flags.from || !flags.to) throw new SlipwayError('INVALID_ARGUMENT', 'expected --from and --to (copy a release), or --challenger --env (promote the challenger)');
      printResult(await promote(flags.model, flags.from, flags.to, synthOptions(flags)));
      return;
    }
    if (!flags.env || !flags.prometheusUrl) throw new SlipwayError('CHALLENGER_INVALID', '--challenger: expected --env and --prometheus-url (where the live metrics of both versions are)');
    const margin = Number(flags.margin);
    const minSamples = Number(flags.minSamples);
    if (!(margin >= 0)) throw new SlipwayError('CHALLENGER_INVALID', `--margin: expected a number >= 0, got ${JSON.stringify(flags.margin)}`);
    if (!Number.isInteger(minSamples) || minSamples < 1) throw new SlipwayError('CHALLENGER_INVALID', `--min-samples: expected a whole number >= 1, got ${JSON.stringify(flags.minSamples)}`);
    const { result, decision } = await promoteChallenger(flags.model, flags.env, (version) => measureFromPrometheus(flags.prometheusUrl!, flags.model, version, flags.metric), {
      ...synthOptions(flags),
      metric: flags.metric,
      margin,
      minSamples,
      source: flags.prometheusUrl,
    });
    process.stdout.write(
      `challenger wins on ${decision.metric}: ${decision.challenger} (${decision.samples.challenger} labels) vs champion ${decision.replaced} ${decision.champion} (${decision.samples.champion} labels), margin ${decision.margin}\n`,
    );
    printResult(result);
  });
}
