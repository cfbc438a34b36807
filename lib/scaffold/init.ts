import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../errors.js';
import { scaffoldFiles } from './templates.js';

export interface InitOptions {
  /** Folder of the new project; created when missing, refused when not empty. */
  readonly dir: string;
  /** Platform name (Argo CD AppProject); defaults to the folder's name. */
  readonly platform?: string;
  /** Name of the example model. */
  readonly model?: string;
  /** Git URL of the config repository Argo CD will sync. */
  readonly repoURL?: string;
}

export interface InitResult {
  readonly dir: string;
  readonly files: readonly string[];
}

const SLIPWAY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Scaffolds a slipway project that synthesizes out of the box: package.json, cdk8s.yaml,
 * tsconfig.json, apps/main.ts with one ModelDeployment loaded from a spec file, and a test.
 * Writes nothing into a folder that already has files, and removes what it wrote on failure.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  const platform = options.platform ?? toDnsLabel(basename(dir));
  const model = options.model ?? 'my-model';
  for (const [flag, value] of [['--platform', platform], ['--model', model]] as const) {
    if (!DNS_LABEL.test(value) || value.length > 63) {
      throw new SlipwayError('INIT_INVALID_NAME', `${flag}: expected a DNS-1123 label (lower-case letters, digits and '-'), got ${JSON.stringify(value)}`);
    }
  }
  let dirExisted = true;
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      dirExisted = false;
      return [];
    }
    throw new SlipwayError('INIT_UNREADABLE', `cannot read ${dir}: ${err.message}`);
  });
  if (existing.length > 0) {
    throw new SlipwayError('INIT_NOT_EMPTY', `${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); choose a new or empty folder`);
  }
  const ours = JSON.parse(await readFile(join(SLIPWAY_ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const files = scaffoldFiles({
    platform,
    model,
    repoURL: options.repoURL ?? `https://git.example.com/${platform}/config.git`,
    // slipway is used from this checkout until it is published, so the project works offline.
    slipwaySpecifier: `file:${relative(dir, SLIPWAY_ROOT) || '.'}`,
    versions: { ...ours.dependencies, ...ours.devDependencies },
  });
  const written: string[] = [];
  try {
    for (const [path, content] of Object.entries(files)) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { flag: 'wx' });
      written.push(path);
    }
  } catch (err) {
    await Promise.all(written.map((path) => rm(join(dir, path), { force: true })));
    if (!dirExisted) await rm(dir, { recursive: true, force: true });
    throw new SlipwayError('INIT_WRITE_FAILED', `could not scaffold ${dir}: ${(err as Error).message}; nothing was left behind`);
  }
  return { dir, files: written };
}

function toDnsLabel(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return label || 'ml-platform';
}
