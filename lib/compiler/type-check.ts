import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type * as TypeScript from 'typescript';
import { SlipwayError } from '../errors.js';

type TS = typeof TypeScript;

/** Without a tsconfig.json: what `slipway init` and the cdk8s templates configure. */
const DEFAULT_OPTIONS: TypeScript.CompilerOptions = {
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
};

/**
 * Type-checks a TypeScript app with the compiler options of the tsconfig.json above it, the
 * way cdk8s's ts-node setup does before running it. Only the app, what it imports and the
 * project's own declaration files are checked, not its tests.
 */
export function typeCheckApp(absolute: string, appPath: string): void {
  const ts = loadTypeScript(absolute);
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
  const cache = diagnostics.length === 0 ? new PassCache(ts.version, configFile, rootNames, options) : undefined;
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
  throw new SlipwayError(
    'APP_TYPE_ERRORS',
    `${appPath}: ${errors.length} type error${errors.length === 1 ? '' : 's'} (pass --no-type-check to run the app anyway):\n` +
      errors.map((d) => `  ${formatDiagnostic(ts, d)}`).join('\n'),
  );
}

/**
 * Remembers a passing check as the size and modification time of every file the program read
 * (app, imports, declarations, tsconfig.json), so the next command on an unchanged app skips the
 * seconds a check of cdk8s-plus's declarations costs, the way `tsc -b` decides a project is up to
 * date. Failing checks are never cached.
 */
class PassCache {
  private readonly file: string;

  constructor(tsVersion: string, configFile: string | undefined, rootNames: readonly string[], options: TypeScript.CompilerOptions) {
    const key = createHash('sha256').update(JSON.stringify([tsVersion, configFile, rootNames, options])).digest('hex').slice(0, 32);
    const modules = join(dirname(configFile ?? rootNames[0]!), 'node_modules');
    const dir = existsSync(modules) ? join(modules, '.cache', 'slipway') : join(tmpdir(), 'slipway-type-check');
    this.file = join(dir, `type-check-${key}.json`);
  }

  upToDate(): boolean {
    let files: [string, number, number][];
    try {
      files = (JSON.parse(readFileSync(this.file, 'utf8')) as { files: [string, number, number][] }).files;
    } catch {
      return false;
    }
    return files.every(([path, mtime, size]) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat !== undefined && stat.mtimeMs === mtime && stat.size === size;
    });
  }

  record(paths: readonly string[]): void {
    try {
      const files = paths.map((path) => {
        const stat = statSync(path);
        return [path, stat.mtimeMs, stat.size];
      });
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(`${this.file}.${process.pid}`, JSON.stringify({ files }));
      renameSync(`${this.file}.${process.pid}`, this.file);
    } catch {
      // A cache that cannot be written only costs the next run its time.
    }
  }
}

/** `file:line:column - error TS2353: message`, as tsc prints it without --pretty. */
function formatDiagnostic(ts: TS, d: TypeScript.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
  if (!d.file || d.start === undefined) return `error TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${displayPath(d.file.fileName)}:${line + 1}:${character + 1} - error TS${d.code}: ${message}`;
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The app project's own TypeScript, else slipway's (a checkout's dev dependency). */
function loadTypeScript(absolute: string): TS {
  for (const from of [absolute, import.meta.filename]) {
    try {
      return createRequire(from)('typescript') as TS;
    } catch {
      // try the next place
    }
  }
  throw new SlipwayError(
    'APP_LOADER_MISSING',
    `type-checking ${absolute} needs the typescript package: npm install --save-dev typescript (or pass --no-type-check)`,
  );
}
