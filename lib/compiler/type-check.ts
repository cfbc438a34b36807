import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as TypeScript from 'typescript';
import { SlipwayError } from '../errors.js';
import { PassCache } from './type-check-cache.js';
import { typeCheckWithTsc, type TscCommand } from './type-check-cli.js';
import { displayPath, typeErrors } from './type-check-report.js';

type TS = typeof TypeScript;

/** Without a tsconfig.json: what `slipway init` and the cdk8s templates configure. */
const DEFAULT_OPTIONS: TypeScript.CompilerOptions = {
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
};

/** The TypeScript majors the check supports (the `typescript` peer range says the same). */
export const SUPPORTED_TYPESCRIPT = [5, 6, 7] as const;

/**
 * Type-checks a TypeScript app with the compiler options of the tsconfig.json above it, the
 * way cdk8s's ts-node setup does before running it. Only the app, what it imports and the
 * project's own declaration files are checked, not its tests. TypeScript 5 and 6 are asked
 * through their JavaScript API; TypeScript 7, a native compiler without one, through its `tsc`.
 */
export async function typeCheckApp(absolute: string, appPath: string, options: { readonly forceTsc?: boolean } = {}): Promise<void> {
  const found = loadTypeScript(absolute);
  if (typeof found.ts.createProgram === 'function' && !options.forceTsc) {
    typeCheckWithApi(found.ts, absolute, appPath);
    return;
  }
  await typeCheckWithTsc(found.tsc, absolute, appPath, findConfigFile(dirname(absolute)));
}

function typeCheckWithApi(ts: TS, absolute: string, appPath: string): void {
  const configFile = ts.findConfigFile(dirname(absolute), (f) => ts.sys.fileExists(f), 'tsconfig.json');
  let options: TypeScript.CompilerOptions = { ...DEFAULT_OPTIONS, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
  let declarations: string[] = [];
  const diagnostics: TypeScript.Diagnostic[] = [];
  if (configFile) {
    const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => diagnostics.push(d),
    });
    if (parsed) {
      options = parsed.options;
      declarations = parsed.fileNames.filter((f) => f.endsWith('.d.ts'));
      diagnostics.push(...parsed.errors);
    }
  }
  const rootNames = [absolute, ...declarations];
  const cache = diagnostics.length === 0 ? new PassCache([ts.version, configFile, rootNames, options], configFile, absolute) : undefined;
  if (cache?.upToDate()) return;
  let checked: readonly string[] = [];
  if (diagnostics.length === 0) {
    const program = ts.createProgram({
      rootNames,
      options: { ...options, noEmit: true, incremental: false, composite: false, declaration: false, declarationMap: false, emitDeclarationOnly: false, tsBuildInfoFile: undefined },
    });
    diagnostics.push(...ts.getPreEmitDiagnostics(program));
    checked = program.getSourceFiles().map((f) => f.fileName);
  }
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length === 0) {
    cache?.record([...checked, ...(configFile ? [configFile] : [])]);
    return;
  }
  throw typeErrors(appPath, errors.map((d) => formatDiagnostic(ts, d)));
}

/** `file:line:column - error TS2353: message`, as tsc prints it without --pretty. */
function formatDiagnostic(ts: TS, d: TypeScript.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
  if (!d.file || d.start === undefined) return `error TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${displayPath(d.file.fileName)}:${line + 1}:${character + 1} - error TS${d.code}: ${message}`;
}

/** The nearest tsconfig.json at or above `dir`, as tsc looks for it. */
function findConfigFile(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'tsconfig.json');
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
}

/** The app project's own TypeScript, else slipway's (a checkout's dev dependency). */
function loadTypeScript(absolute: string): { ts: TS; tsc: TscCommand } {
  for (const from of [absolute, import.meta.filename]) {
    let manifest: string;
    try {
      manifest = createRequire(from).resolve('typescript/package.json');
    } catch {
      continue; // try the next place
    }
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string; bin?: { tsc?: string } };
    const major = Number(pkg.version.split('.')[0]);
    if (!(SUPPORTED_TYPESCRIPT as readonly number[]).includes(major)) {
      throw new SlipwayError(
        'TYPESCRIPT_UNSUPPORTED',
        `type-checking ${absolute} found TypeScript ${pkg.version} at ${dirname(manifest)}; slipway supports TypeScript ${SUPPORTED_TYPESCRIPT.join(', ')}: npm install --save-dev typescript@${SUPPORTED_TYPESCRIPT.at(-1)} (or pass --no-type-check)`,
      );
    }
    const root = dirname(manifest);
    const ts = createRequire(from)('typescript') as TS;
    // The generated tsconfig lives beside the compiler, in node_modules, where types resolve as they do for the project.
    const at = root.lastIndexOf('node_modules');
    const scratch = at < 0 ? join(tmpdir(), 'slipway-type-check') : join(root.slice(0, at + 'node_modules'.length), '.cache', 'slipway');
    return { ts, tsc: { bin: join(root, pkg.bin?.tsc ?? 'bin/tsc'), version: pkg.version, scratch } };
  }
  throw new SlipwayError(
    'APP_LOADER_MISSING',
    `type-checking ${absolute} needs the typescript package: npm install --save-dev typescript (or pass --no-type-check)`,
  );
}
