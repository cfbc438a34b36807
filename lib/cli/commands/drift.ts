import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { readBaseline, readThresholds, writeFileAtomic } from '../../drift/baseline-file.js';
import { measureDrift } from '../../drift/dataset.js';
import { terminalProgress } from '../../drift/progress.js';
import { needsAttention } from '../../drift/compare.js';
import { REPORT_FORMATS, renderReport, verdictLine, type ReportFormat } from '../../drift/report.js';
import { driftEndpoint, fetchRuntimeDrift, renderTrend } from '../../drift/trend.js';
import { SlipwayError } from '../../errors.js';

/** Exit status when drift or a data-quality warning was found (0: neither, 1: error). */
export const DRIFT_EXIT_CODE = 3;

const required = (value: string | undefined, flag: string): string => {
  // Checked here, not by commander: its required options would also bind `drift report`.
  if (value === undefined) throw new SlipwayError('DRIFT_USAGE', `required option '${flag}' not specified (or read a runtime's trend: slipway drift report --from-runtime URL)`, 1);
  return value;
};

export function register(program: Command): void {
  const drift = program
    .command('drift')
    .description(`Compare data against a baseline profile; exits 0 without drift, ${DRIFT_EXIT_CODE} with drift or a data-quality finding, 1 on error.`)
    .option('--baseline <file>', 'baseline profile written by `slipway baseline` (required)')
    .option('--data <file>', 'current data: .csv or .jsonl/.ndjson (required)')
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('table'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--thresholds <file>', 'per-feature thresholds (JSON or YAML, schemas/drift-thresholds.schema.json)')
    .action(async (options: { baseline?: string; data?: string; format: ReportFormat; out?: string; thresholds?: string }) => {
      const opts = { ...options, baseline: required(options.baseline, '--baseline <file>'), data: required(options.data, '--data <file>') };
      const baseline = await readBaseline(opts.baseline);
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds, baseline) : undefined;
      const progress = terminalProgress('drift');
      let text: string;
      let summary: string;
      let attention: boolean;
      try {
        const report = await measureDrift(baseline, opts.data, { thresholds, onProgress: progress?.onProgress });
        text = renderReport(report, opts.format, `Drift report: ${basename(opts.data)} vs ${basename(opts.baseline)}`);
        summary = verdictLine(report);
        attention = needsAttention(report);
      } finally {
        progress?.done();
      }
      if (opts.out) {
        await writeFileAtomic(opts.out, text);
        // The report went to a file: say where, and what it found, so exit 3 is never silent.
        process.stderr.write(`slipway: wrote ${opts.out} (${opts.format}): ${summary}\n`);
      } else {
        process.stdout.write(text);
      }
      if (attention) process.exitCode = DRIFT_EXIT_CODE;
    });

  drift
    .command('report')
    .description(`Drift over time: read a runtime's window history (GET …/drift?history=1) and render the trend; exits ${DRIFT_EXIT_CODE} when the latest window needs attention.`)
    .requiredOption('--from-runtime <url>', 'the runtime (http://host:8080, with --model) or its drift endpoint (…/v2/models/NAME/drift)')
    .option('--model <name>', 'the model, when --from-runtime is the runtime\'s base URL')
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('table'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .action(async (opts: { fromRuntime: string; model?: string; format: ReportFormat; out?: string }) => {
      const endpoint = driftEndpoint(opts.fromRuntime, opts.model);
      const runtime = await fetchRuntimeDrift(endpoint);
      const name = runtime.history.model || opts.model || 'model';
      const text = renderTrend(runtime, opts.format, `Drift over time: ${name}`);
      if (opts.out) {
        await writeFileAtomic(opts.out, text);
        process.stderr.write(`slipway: wrote ${opts.out} (${opts.format}): ${runtime.history.points.length} windows; latest ${verdictLine(runtime.latest)}\n`);
      } else {
        process.stdout.write(text);
      }
      if (needsAttention(runtime.latest)) process.exitCode = DRIFT_EXIT_CODE;
    });
}
