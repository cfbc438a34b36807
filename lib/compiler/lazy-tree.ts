import type { ConfigRepo } from './config-repo.js';
import { type Node, type TreeNode, treeNode } from './git-objects.js';

/** In-memory tree that expands folders kept from the base commit when something below them changes. */
export class LazyTree {
  constructor(
    private readonly repo: ConfigRepo,
    readonly root: TreeNode,
  ) {}

  private async folder(parts: readonly string[], create: boolean): Promise<TreeNode | undefined> {
    let dir = this.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (next?.kind === 'stored' && next.type === 'tree') {
        const expanded = treeNode();
        for (const [name, e] of await this.repo.readTree(next.oid)) expanded.entries.set(name, e.node!);
        dir.entries.set(part, expanded);
        next = expanded;
      }
      if (!next || next.kind !== 'tree') {
        if (!create) return undefined;
        next = treeNode();
        dir.entries.set(part, next);
      }
      dir = next;
    }
    return dir;
  }

  async set(path: string, node: Node): Promise<void> {
    const parts = path.split('/');
    (await this.folder(parts.slice(0, -1), true))!.entries.set(parts[parts.length - 1]!, node);
  }

  async remove(path: string): Promise<void> {
    const parts = path.split('/');
    (await this.folder(parts.slice(0, -1), false))?.entries.delete(parts[parts.length - 1]!);
  }

  /** The node at `path`, reading stored folders without expanding them. */
  async get(path: string): Promise<Node | undefined> {
    let node: Node | undefined = this.root;
    for (const part of path.split('/')) {
      if (!node) return undefined;
      if (node.kind === 'tree') node = node.entries.get(part);
      else if (node.kind === 'stored' && node.type === 'tree') node = (await this.repo.readTree(node.oid)).get(part)?.node;
      else return undefined;
    }
    return node;
  }
}
