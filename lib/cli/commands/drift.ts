import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { readBaseline, readThresholds, writeFileAtomic } from '../../drift/baseline-file.js';
import { measureDrift } from '../../drift/dataset.js';
import { terminalProgress } from '../../drift/progress.js';
import { needsAttention } from '../../drift/compare.js';
import { REPORT_FORMATS, renderReport, verdictLine, type ReportFormat } from '../../drift/report.js';

/** Exit status when drift or a data-quality warning was found (0: neither, 1: error). */
export const DRIFT_EXIT_CODE = 3;

export function register(program: Command): void {
  program
    .command('drift')
    .description(`Compare data against a baseline profile; exits 0 without drift, ${DRIFT_EXIT_CODE} with drift or a data-quality finding, 1 on error.`)
    .requiredOption('--baseline <file>', 'baseline profile written by `slipway baseline`')
    .requiredOption('--data <file>', 'current data: .csv or .jsonl/.ndjson')
    .addOption(new Option('--format <format>', 'report format').choices([...REPORT_FORMATS]).default('table'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--thresholds <file>', 'per-feature thresholds (JSON or YAML, schemas/drift-thresholds.schema.json)')
    .action(async (opts: { baseline: string; data: string; format: ReportFormat; out?: string; thresholds?: string }) => {
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
}
