import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobNode, oidOf, setPath, treeNode, treeObject, writePack } from '../../lib/compiler/git-objects.js';

describe('git objects', () => {
  it('hashes blobs and trees exactly like git, and writes packs git verify-pack accepts', () => {
    // GIVEN a tree built in memory, with names whose git order differs from plain string order
    const root = treeNode();
    const config = blobNode('kind: ConfigMap\n');
    const file = blobNode('file\n');
    const big = blobNode(Buffer.alloc(70_000, 1));
    setPath(root, 'a-b', file);
    setPath(root, 'a/b/c.yaml', config);
    setPath(root, 'a.yaml', big);
    const a = root.entries.get('a');
    const b = a?.kind === 'tree' ? a.entries.get('b') : undefined;
    if (a?.kind !== 'tree' || b?.kind !== 'tree') throw new Error('setPath did not create folders');
    const dir = mkdtempSync(join(tmpdir(), 'slipway-pack-'));
    try {
      execFileSync('git', ['init', '-q', dir]);
      // WHEN its objects are packed into a repository
      const objects = [treeObject(root), treeObject(a), treeObject(b), ...[config, file, big].map((n) => ({ type: 'blob' as const, oid: n.oid, content: n.content }))];
      writePack(join(dir, '.git'), objects);
      // THEN git reads the same ids back and the pack verifies
      const pack = readdirSync(join(dir, '.git/objects/pack')).find((f) => f.endsWith('.idx'))!;
      execFileSync('git', ['-C', dir, 'verify-pack', join('.git/objects/pack', pack)]);
      expect(execFileSync('git', ['-C', dir, 'ls-tree', '-r', '--name-only', oidOf(root)], { encoding: 'utf8' })).toBe('a-b\na.yaml\na/b/c.yaml\n');
      expect(execFileSync('git', ['-C', dir, 'cat-file', '-p', `${oidOf(root)}:a/b/c.yaml`], { encoding: 'utf8' })).toBe('kind: ConfigMap\n');
      expect(blobNode('file\n').oid).toBe(execFileSync('git', ['hash-object', '--stdin'], { input: 'file\n', encoding: 'utf8' }).trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
