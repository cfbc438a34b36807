import type { Command } from 'commander';
import { formatTable } from '../../compiler/report.js';
import { type AdvanceResult, type FleetStatus, abort, advance, setPhase, status } from '../../fleet/rollout.js';
import { type ConfigRepoFlags, printResult, synthOptions, withConfigRepoFlags } from '../config-repo-flags.js';

/** Exit status of an advance whose gate failed: a CronJob or Tekton task shows it as failed. */
export const HALTED_EXIT_CODE = 2;

type Flags = ConfigRepoFlags & { model: string; prometheus?: string };

function describeAdvance(fleet: string, model: string, r: AdvanceResult): string {
  const lines: string[] = [];
  switch (r.action) {
    case 'advanced':
      lines.push(`${model} ${r.version}: wave ${r.wave} of ${fleet} passed its gate; wave ${r.next} now runs it`);
      break;
    case 'baking':
      lines.push(`${model} ${r.version}: wave ${r.wave} of ${fleet} is baking (${r.bakeLeft}s left); nothing committed`);
      break;
    case 'complete':
      lines.push(`${model} ${r.version} runs on every wave of ${fleet}; nothing to advance`);
      break;
    case 'paused':
      lines.push(`the rollout of ${model} ${r.version} in ${fleet} is paused at wave ${r.wave}; slipway fleet resume continues it`);
      break;
    case 'halted':
      lines.push(`${model} ${r.version}: wave ${r.wave} of ${fleet} failed its gate; the rollout is halted`);
      for (const f of r.failing) lines.push(`  failing site ${f.site}: ${f.reason}`);
      if (r.rolledBack) lines.push(`rolled back wave ${r.wave} from ${r.rolledBack.from} to ${r.rolledBack.to}`);
      break;
  }
  if (r.health.length > 0) {
    lines.push(
      formatTable(
        ['SITE', 'UPDATED', 'READY', 'ERROR RATIO', 'P99 s', 'DRIFT'],
        r.health.map((h) => [h.site, h.updated ? 'yes' : 'no', h.ready ? 'yes' : 'no', h.errorRatio?.toFixed(4) ?? '-', h.latencyP99Seconds?.toFixed(3) ?? '-', h.drift ? 'yes' : 'no']),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function statusTable(s: FleetStatus): string {
  const rows = s.waves.map((w) => [w.wave, w.version ?? '-', String(w.targeted), String(w.updated), String(w.healthy), String(w.failing.length), w.failing.map((f) => `${f.site} (${f.reason})`).join(', ') || '-']);
  return `${s.model} ${s.version} in fleet ${s.fleet}: ${s.phase}\n${formatTable(['WAVE', 'VERSION', 'TARGETED', 'UPDATED', 'HEALTHY', 'FAILING', 'FAILING SITES'], rows)}\n`;
}

export function register(program: Command): void {
  const fleet = program.command('fleet').description('Roll a model out over a fleet in waves with health gates: advance, pause, resume, abort, status.');

  withConfigRepoFlags(
    fleet
      .command('advance <fleet>')
      .description("Judge the newest wave's health in Prometheus and, after its bake time, commit the build into the next wave (or halt and roll back).")
      .requiredOption('--model <name>', 'model name')
      .option('--prometheus <url>', "Prometheus query URL that sees every site (default: the fleet's prometheusUrl)"),
    { push: true },
  ).action(async (name: string, flags: Flags) => {
    const r = await advance({ fleet: name, model: flags.model, ...(flags.prometheus ? { prometheus: flags.prometheus } : {}) }, synthOptions(flags));
    process.stdout.write(describeAdvance(name, flags.model, r));
    if (r.result) printResult(r.result);
    if (r.action === 'halted') process.exitCode = HALTED_EXIT_CODE;
  });

  for (const phase of ['pause', 'resume'] as const) {
    withConfigRepoFlags(
      fleet
        .command(`${phase} <fleet>`)
        .description(phase === 'pause' ? 'Stop advancing the rollout (a commit); sites keep what they run.' : 'Continue a paused or halted rollout (a commit).')
        .requiredOption('--model <name>', 'model name'),
      { push: true },
    ).action(async (name: string, flags: Flags) => {
      printResult(await setPhase(name, flags.model, phase === 'pause' ? 'paused' : 'running', synthOptions(flags)));
    });
  }

  withConfigRepoFlags(
    fleet
      .command('abort <fleet>')
      .description('Stop the rollout and give every wave that runs the new build its previous build back, in one commit.')
      .requiredOption('--model <name>', 'model name'),
    { push: true },
  ).action(async (name: string, flags: Flags) => {
    const result = await abort(name, flags.model, synthOptions(flags));
    for (const r of result.restored) process.stdout.write(`wave ${r.wave}: ${r.to ? `back to ${r.to}` : 'had no earlier build; left as is'}\n`);
    printResult(result);
  });

  fleet
    .command('status <fleet>')
    .description('Per wave: sites targeted, updated, healthy and failing, from the config repository and Prometheus.')
    .requiredOption('--model <name>', 'model name')
    .option('--repo <dir>', 'config repository', './config-repo')
    .option('--prometheus <url>', "Prometheus query URL (default: the fleet's prometheusUrl; without one, only the recorded state)")
    .option('--format <format>', 'table or json', 'table')
    .action(async (name: string, flags: { model: string; repo: string; prometheus?: string; format: string }) => {
      const s = await status(name, flags.model, { repo: flags.repo, ...(flags.prometheus ? { prometheus: flags.prometheus } : {}) });
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(s, null, 2)}\n` : statusTable(s));
    });
}
