import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Remembers a passing check as the size and modification time of every file the program read
 * (app, imports, declarations, tsconfig.json), so the next command on an unchanged app skips the
 * seconds a check of cdk8s-plus's declarations costs, the way `tsc -b` decides a project is up to
 * date. Failing checks are never cached.
 */
export class PassCache {
  private readonly file: string;

  /** `key`: everything besides file contents that decides the outcome (compiler version, options, roots). */
  constructor(key: unknown, configFile: string | undefined, firstRoot: string) {
    const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32);
    const modules = join(dirname(configFile ?? firstRoot), 'node_modules');
    const dir = existsSync(modules) ? join(modules, '.cache', 'slipway') : join(tmpdir(), 'slipway-type-check');
    this.file = join(dir, `type-check-${hash}.json`);
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
