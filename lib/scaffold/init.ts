import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import { slipwayPackage } from '../package-info.js';
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
  /**
   * Depend on slipway through `file:` at this path (a checkout or a packed tarball) instead of
   * the published `^<version>` range; for trying unreleased changes.
   * @default - the running slipway's checkout when it runs from one (an unpublished version
   * range would not install), else the semver range of the running slipway
   */
  readonly slipwayFrom?: string;
}

export interface InitResult {
  readonly dir: string;
  readonly files: readonly string[];
  /** The `slipway` dependency written into package.json (`^0.1.0`, `file:../slipway`). */
  readonly slipwaySpecifier: string;
  /** The checkout the project depends on, when that checkout has no compiled build/ yet. */
  readonly unbuiltCheckout?: string;
}

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
  if (options.slipwayFrom !== undefined && !existsSync(options.slipwayFrom)) {
    throw new SlipwayError('INIT_INVALID_SOURCE', `--slipway-from ${options.slipwayFrom}: no such file or folder; pass a slipway checkout or a tarball made by npm pack`);
  }
  const ours = JSON.parse(await readFile(join(slipwayPackage().root, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  const root = slipwayPackage().root;
  const from = options.slipwayFrom ?? (isCheckout(root) ? root : undefined);
  const slipwaySpecifier = from === undefined ? `^${ours.version}` : `file:${relative(dir, resolve(from)) || '.'}`;
  const files = scaffoldFiles({
    platform,
    model,
    repoURL: options.repoURL ?? `https://git.example.com/${platform}/config.git`,
    slipwaySpecifier,
    versions: { ...ours.devDependencies, ...ours.dependencies },
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
  const unbuilt = from !== undefined && isCheckout(resolve(from)) && !existsSync(join(resolve(from), 'build/constructs/index.js'));
  return { dir, files: written, slipwaySpecifier, ...(unbuilt ? { unbuiltCheckout: resolve(from) } : {}) };
}

/** A source checkout (its TypeScript sources beside package.json), not an installed package. */
function isCheckout(dir: string): boolean {
  return existsSync(join(dir, 'lib/cli/main.ts')) && existsSync(join(dir, 'package.json'));
}

function toDnsLabel(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return label || 'ml-platform';
}
