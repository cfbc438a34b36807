import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { errorId } from '../error-catalog.js';
import { SlipwayError } from '../errors.js';
import { slipwayPackage } from '../package-info.js';
import { missingServingPeer, servingPeerMissing } from './serving-peers.js';

type CommandModule = { register(program: Command): void };

// Each command lives in its own module and only parses flags before calling into the
// compiler, runtime or drift modules: the CLI stays thin.
const commandModules: Readonly<Record<string, () => Promise<CommandModule>>> = {
  serve: () => import('./commands/serve.js'),
  baseline: () => import('./commands/baseline.js'),
  drift: () => import('./commands/drift.js'),
  synth: () => import('./commands/synth.js'),
  release: () => import('./commands/release.js'),
  promote: () => import('./commands/promote.js'),
  history: () => import('./commands/history.js'),
  rollback: () => import('./commands/rollback.js'),
  kpis: () => import('./commands/kpis.js'),
  diff: () => import('./commands/diff.js'),
  init: () => import('./commands/init.js'),
  pipeline: () => import('./commands/pipeline.js'),
  fleet: () => import('./commands/fleet.js'),
};

/** Names and descriptions of the commands each module registers; written by scripts/build.mjs. */
export interface CommandManifest {
  readonly [module: string]: ReadonlyArray<{
    readonly name: string;
    readonly description: string;
    readonly aliases: readonly string[];
    /** How the help's command list shows it, e.g. `init [options] [dir]`. */
    readonly term: string;
  }>;
}

const MANIFEST = new URL('./commands.json', import.meta.url);

async function loadModule(name: string): Promise<CommandModule> {
  try {
    return await commandModules[name]!();
  } catch (err) {
    // onnxruntime-node and @grpc/proto-loader are optional peer dependencies: only those who serve install them.
    const missing = missingServingPeer(err);
    if (missing) throw servingPeerMissing(name, missing, err);
    throw err;
  }
}

function readManifest(): CommandManifest | undefined {
  // Only the compiled CLI has one; running from sources every module is loaded.
  return existsSync(MANIFEST) ? (JSON.parse(readFileSync(MANIFEST, 'utf8')) as CommandManifest) : undefined;
}

/** The command the arguments ask for (`slipway help <cmd>` included), if any. */
function requestedCommand(args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

function baseProgram(): Command {
  return new Command('slipway')
    .description('GitOps toolchain for ML operations: constructs, config repository, serving runtime and drift.')
    .version(slipwayPackage().version)
    // Program options only before the command name, so `slipway release --version 1.4.0`
    // is the release's version, not a request for slipway's.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
}

/**
 * The program with every command. With `argv`, only what it needs is loaded: the module of
 * the requested command, or (for the command list in `--help`) just the build-time manifest,
 * so `slipway --help` does not load cdk8s, isomorphic-git or onnxruntime.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = baseProgram();
  const manifest = argv ? readManifest() : undefined;
  if (manifest) {
    const wanted = requestedCommand(argv!.slice(2));
    const owner = Object.entries(manifest).find(([, commands]) => commands.some((c) => c.name === wanted || c.aliases.includes(wanted ?? '')))?.[0];
    if (owner) {
      (await loadModule(owner)).register(program);
      return program;
    }
    if (wanted === undefined) {
      const terms = new Map<string, string>();
      for (const commands of Object.values(manifest)) {
        for (const c of commands) {
          program.command(c.name).aliases([...c.aliases]).description(c.description);
          terms.set(c.name, c.term);
        }
      }
      const help = new Help();
      program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd) });
      return program;
    }
  }
  for (const name of Object.keys(commandModules)) (await loadModule(name)).register(program);
  return program;
}

/** Which commands each module registers, for scripts/build.mjs to write next to the compiled CLI. */
export async function commandManifest(): Promise<CommandManifest> {
  const manifest: Record<string, CommandManifest[string]> = {};
  for (const name of Object.keys(commandModules)) {
    const program = new Command();
    (await loadModule(name)).register(program);
    const help = program.createHelp();
    manifest[name] = program.commands.map((c) => ({ name: c.name(), description: c.description(), aliases: c.aliases(), term: help.subcommandTerm(c) }));
  }
  return manifest;
}

/** The line under every error: its stable id and where its cause and fix are documented. */
export function errorReference(code: string): string {
  const id = errorId(code);
  return `  error ${id} (${code}): cause and fix in docs/errors.md#${id.toLowerCase()}`;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof SlipwayError) {
      process.stderr.write(`slipway: ${err.message}\n${errorReference(err.code)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`slipway: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n${errorReference('INTERNAL_ERROR')}\n`);
    return 1;
  }
}
