import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SlipwayError } from '../errors.js';
import { PassCache } from './type-check-cache.js';
import { displayPath, typeErrors } from './type-check-report.js';

/** What `slipway init` and the cdk8s templates configure, for an app without a tsconfig.json. */
const DEFAULT_OPTIONS = { strict: true, skipLibCheck: true, esModuleInterop: true, resolveJsonModule: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext' };

/** Only a check: whatever the project emits, builds incrementally or declares stays as it is. */
const CHECK_ONLY = { noEmit: true, incremental: false, composite: false, declaration: false, declarationMap: false, emitDeclarationOnly: false };

export interface TscCommand {
  /** The package's `tsc` entry (`<typescript>/bin/tsc`), run with this Node. */
  readonly bin: string;
  readonly version: string;
  /** Folder for the throwaway tsconfig (`node_modules/.cache/slipway` beside the compiler). */
  readonly scratch: string;
}

/**
 * Type-checks an app with the `tsc` command line, for compilers without the JavaScript API
 * (TypeScript 7 is a native binary; its package exports only its version). The check covers what
 * the API path covers: the app, what it imports and the project's own declaration files, under
 * the compiler options of the tsconfig.json above it, through a generated tsconfig that extends
 * the project's and names just those files. Errors come out as the API path prints them.
 */
export async function typeCheckWithTsc(tsc: TscCommand, absolute: string, appPath: string, configFile: string | undefined): Promise<void> {
  let declarations: string[] = [];
  let resolvedOptions: unknown = DEFAULT_OPTIONS;
  if (configFile) {
    // --showConfig resolves `extends` and `include` without checking anything (milliseconds).
    const shown = await runTsc(tsc, ['--showConfig', '-p', configFile]);
    if (shown.status !== 0) throw typeErrors(appPath, parseTscOutput(shown.stdout + shown.stderr).errors);
    const config = JSON.parse(shown.stdout) as { compilerOptions?: unknown; files?: string[] };
    resolvedOptions = config.compilerOptions ?? {};
    declarations = (config.files ?? []).filter((f) => f.endsWith('.d.ts')).map((f) => resolve(dirname(configFile), f));
  }
  const files = [absolute, ...declarations];
  const cache = new PassCache([tsc.version, 'tsc', configFile, files, resolvedOptions], configFile, absolute);
  if (cache.upToDate()) return;
  mkdirSync(tsc.scratch, { recursive: true });
  const generated = join(tsc.scratch, `type-check-${process.pid}-${Date.now()}.json`);
  writeFileSync(
    generated,
    JSON.stringify({
      ...(configFile ? { extends: configFile } : {}),
      compilerOptions: { ...(configFile ? {} : DEFAULT_OPTIONS), ...CHECK_ONLY },
      files,
      include: [],
    }),
  );
  let result: { status: number; stdout: string; stderr: string };
  try {
    result = await runTsc(tsc, ['--pretty', 'false', '--listFiles', '-p', generated]);
  } finally {
    rmSync(generated, { force: true });
  }
  const { errors, read } = parseTscOutput(result.stdout + result.stderr);
  if (errors.length === 0 && result.status === 0) {
    cache.record([...read, ...(configFile ? [configFile] : [])]);
    return;
  }
  if (errors.length === 0) {
    throw new SlipwayError('APP_TYPE_ERRORS', `${appPath}: tsc ${tsc.version} exited with status ${result.status} without naming an error:\n${(result.stderr || result.stdout).trim()}`);
  }
  throw typeErrors(appPath, errors);
}

async function runTsc(tsc: TscCommand, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsc.bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof failed.code !== 'number') {
      throw new SlipwayError('APP_LOADER_MISSING', `type-checking needs ${tsc.bin} (TypeScript ${tsc.version}), which did not run: ${failed.message}; reinstall typescript or pass --no-type-check`);
    }
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const LOCATED = /^(.+)\((\d+),(\d+)\): error (TS\d+): (.*)$/;
const UNLOCATED = /^error (TS\d+): (.*)$/;

/**
 * tsc's plain output (`--pretty false`): `file(line,col): error TS…: message`, continuation lines
 * indented, and with --listFiles the absolute path of every file the program read.
 */
export function parseTscOutput(output: string): { errors: string[]; read: string[] } {
  const errors: string[] = [];
  const read: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    const located = LOCATED.exec(line);
    const unlocated = UNLOCATED.exec(line);
    if (located) {
      const [, file, row, column, code, message] = located;
      errors.push(`${displayPath(resolve(file!))}:${row}:${column} - error ${code}: ${message}`);
    } else if (unlocated) {
      errors.push(`error ${unlocated[1]}: ${unlocated[2]}`);
    } else if (/^\s+\S/.test(line) && errors.length > 0) {
      errors[errors.length - 1] += `\n    ${line.trim()}`;
    } else if (isAbsolute(line.trim()) && line.trim() !== '') {
      read.push(line.trim());
    }
  }
  return { errors, read };
}
