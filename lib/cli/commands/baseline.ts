import type { Command } from 'commander';
import { serializeBaseline, writeFileAtomic } from '../../drift/baseline-file.js';
import { buildBaseline } from '../../drift/dataset.js';
import { terminalProgress } from '../../drift/progress.js';
import { SlipwayError } from '../../errors.js';

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter((s) => s !== '');

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SlipwayError('DRIFT_USAGE', `--top-k: expected a positive integer, got "${value}"`, 1);
  return n;
}

export function register(program: Command): void {
  program
    .command('baseline')
    .description('Profile training data (CSV or JSON Lines) into a bounded baseline for drift detection.')
    .requiredOption('--data <file>', 'training data: .csv (RFC 4180, header row) or .jsonl/.ndjson')
    .requiredOption('--out <file>', 'where to write the baseline profile (JSON)')
    .option('--features <names>', 'model input columns in tensor order (comma separated); default: every column but --outputs', list)
    .option('--categorical <names>', 'columns to profile as categories (comma separated)', list)
    .option('--numeric <names>', 'columns that must be numeric (comma separated); others are inferred', list)
    .option('--outputs <names>', 'columns holding model outputs, in output tensor order, for prediction drift', list)
    .option('--label <name>', 'the label column: profiled for target drift')
    .option('--prediction <name>', 'a column of predicted labels: with --label, the training accuracy goes into the baseline')
    .option('--input-tensor <name>', 'name of the model input tensor the feature order describes')
    .option('--output-tensor <name>', 'name of the model output tensor the outputs describe')
    .option('--top-k <n>', 'categories kept per categorical feature', positiveInteger, 20)
    .action(async (opts: {
      data: string; out: string; features?: string[]; categorical?: string[]; numeric?: string[]; outputs?: string[];
      label?: string; prediction?: string; inputTensor?: string; outputTensor?: string; topK: number;
    }) => {
      const progress = terminalProgress('baseline');
      let profile;
      try {
        profile = await buildBaseline(opts.data, {
          features: opts.features,
          categorical: opts.categorical,
          numeric: opts.numeric,
          outputs: opts.outputs,
          label: opts.label,
          prediction: opts.prediction,
          topK: opts.topK,
          inputTensor: opts.inputTensor,
          outputTensor: opts.outputTensor,
          onProgress: progress?.onProgress,
        });
      } finally {
        progress?.done();
      }
      await writeFileAtomic(opts.out, serializeBaseline(profile));
      const features = Object.keys(profile.features).length;
      process.stderr.write(`slipway: wrote ${opts.out}: ${profile.source.rows} rows, ${features} features${profile.outputs ? `, ${profile.outputs.order.length} outputs` : ''}${profile.target ? `, label "${profile.target.name}"` : ''}${profile.performance ? `, training accuracy ${profile.performance.value.toFixed(4)}` : ''}\n`);
    });
}
