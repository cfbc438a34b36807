import { Command, CommanderError } from 'commander';
import { SlipwayError } from '../errors.js';

// Each command lives in its own module and only parses flags before calling into
// the compiler, runtime or drift modules: the CLI stays thin.
const commandModules: ReadonlyArray<() => Promise<{ register(program: Command): void }>> = [
  () => import('./commands/serve.js'),
  () => import('./commands/baseline.js'),
  () => import('./commands/drift.js'),
  () => import('./commands/synth.js'),
  () => import('./commands/release.js'),
  () => import('./commands/promote.js'),
  () => import('./commands/history.js'),
  () => import('./commands/rollback.js'),
  () => import('./commands/kpis.js'),
  () => import('./commands/diff.js'),
  () => import('./commands/init.js'),
  () => import('./commands/pipeline.js'),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command('slipway')
    .description('GitOps toolchain for ML operations: constructs, config repository, serving runtime and drift.')
    .version(process.env.npm_package_version ?? '0.1.0')
    // Program options only before the command name, so `slipway release --version 1.4.0`
    // is the release's version, not a request for slipway's.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof SlipwayError) {
      process.stderr.write(`slipway: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
