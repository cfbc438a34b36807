import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from './durable-fs.js';
import { type Node, type TreeNode, oidOf } from './git-objects.js';

// The render cache maps each generated file's data to the blob it became in a commit, so an
// unchanged synth skips writing YAML. It only ever proves "no change": any difference and the
// tree is built again from freshly written YAML.

export interface RenderCache {
  readonly entries: ReadonlyMap<string, { readonly key: string; readonly oid: string }>;
}

const RENDER_CACHE = 'slipway-render-cache.json';
// Cached blobs are only valid for the YAML emitter that wrote them.
const EMITTER_FINGERPRINT = emitterFingerprint();

function emitterFingerprint(): string {
  const dir = dirname(fileURLToPath(import.meta.url));
  const source = ['yaml.ts', 'yaml.js'].map((f) => join(dir, f)).find((f) => existsSync(f))!;
  return createHash('sha1').update(readFileSync(source)).digest('hex');
}

export function cacheKey(doc: unknown): string {
  return createHash('sha1').update(JSON.stringify(doc)).digest('base64');
}

/** The cache, when it was written for exactly `baseTree`. */
export function readRenderCache(gitdir: string, baseTree: string | undefined): RenderCache | undefined {
  if (!baseTree) return undefined;
  try {
    const raw = JSON.parse(readFileSync(join(gitdir, RENDER_CACHE), 'utf8')) as { emitter: string; tree: string; entries: Record<string, string> };
    if (raw.emitter !== EMITTER_FINGERPRINT || raw.tree !== baseTree) return undefined;
    return { entries: new Map(Object.entries(raw.entries).map(([path, v]) => [path, { key: v.slice(0, 28), oid: v.slice(29) }])) };
  } catch {
    return undefined;
  }
}

/** Records which blob each rendered file became in `root`, for the next run's no-change check. */
export function writeRenderCache(gitdir: string, documents: ReadonlyMap<string, unknown>, root: TreeNode): void {
  const entries: Record<string, string> = {};
  for (const [path, doc] of documents) {
    const node = nodeAt(root, path);
    if (node) entries[path] = `${cacheKey(doc)} ${oidOf(node)}`;
  }
  writeFileAtomicSync(join(gitdir, RENDER_CACHE), JSON.stringify({ emitter: EMITTER_FINGERPRINT, tree: oidOf(root), entries }), gitdir);
}

function nodeAt(root: TreeNode, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const part of path.split('/')) node = node?.kind === 'tree' ? node.entries.get(part) : undefined;
  return node;
}
