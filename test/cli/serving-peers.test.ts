import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { missingServingPeer, servingPeerMissing } from '../../lib/cli/serving-peers.js';

const SERVING_PEERS_MODULE = pathToFileURL(new URL('../../lib/cli/serving-peers.ts', import.meta.url).pathname).href;

describe('missingServingPeer', () => {
  // A module outside this repository, where no node_modules resolves the peers.
  const dir = mkdtempSync(join(tmpdir(), 'slipway-peers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** What missingServingPeer says of Node's own error for importing `specifier` there (Node, not vitest's resolver, as the CLI runs). */
  const namedFor = (specifier: string): string => {
    const file = join(dir, `${specifier.replace(/\W/g, '_')}.mjs`);
    writeFileSync(file, `import '${specifier}';\n`);
    const probe = `const { missingServingPeer } = await import(${JSON.stringify(SERVING_PEERS_MODULE)});
      const err = await import(${JSON.stringify(pathToFileURL(file).href)}).then(() => undefined, (e) => e);
      process.stdout.write(String(err?.code) + ' ' + String(missingServingPeer(err)));`;
    return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  };

  it('names the serving peer an import could not find', () => {
    // GIVEN modules importing each peer where it is not installed
    // WHEN they fail to load THEN the peer is named, and the error says what to install
    expect(namedFor('onnxruntime-node')).toBe('ERR_MODULE_NOT_FOUND onnxruntime-node');
    expect(namedFor('@grpc/proto-loader')).toBe('ERR_MODULE_NOT_FOUND @grpc/proto-loader');
    expect(servingPeerMissing('serve', 'onnxruntime-node').message).toBe(
      'slipway serve needs onnxruntime-node, which is not installed; serving needs: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.29.0 @grpc/proto-loader@^0.8.1',
    );
  });

  it('names nothing for another missing package or another failure', () => {
    // GIVEN a missing package that is not a serving peer (grpc-js no longer is), and an error without Node's code
    // WHEN missingServingPeer reads them THEN it names nothing, and the original error is rethrown
    expect(namedFor('left-pad-not-installed')).toBe('ERR_MODULE_NOT_FOUND undefined');
    expect(namedFor('@grpc/grpc-js')).toBe('ERR_MODULE_NOT_FOUND undefined');
    expect(missingServingPeer(new Error("Cannot find package 'onnxruntime-node'"))).toBeUndefined();
  });
});
