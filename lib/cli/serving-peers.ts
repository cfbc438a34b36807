/**
 * onnxruntime-node and @grpc/proto-loader (the gRPC API's messages) are optional peer dependencies: only those who serve install them.
 * `slipway serve` imports them lazily (start-up), so it checks they resolve before anything starts.
 */
import { createRequire } from 'node:module';
import { SlipwayError } from '../errors.js';

/** The optional peer dependencies `slipway serve` needs, as `npm install` takes them. */
const SERVING_PEERS = ['onnxruntime-node@1.29.0', '@grpc/proto-loader@^0.8.1'];
const PEER_NAMES = SERVING_PEERS.map((peer) => peer.slice(0, peer.lastIndexOf('@')));

export function servingPeerMissing(command: string, missing: string, cause?: unknown): SlipwayError {
  return new SlipwayError(
    'RUNTIME_NOT_INSTALLED',
    `slipway ${command} needs ${missing}, which is not installed; serving needs: ONNXRUNTIME_NODE_INSTALL=skip npm install ${SERVING_PEERS.join(' ')}`,
    1,
    cause === undefined ? undefined : { cause },
  );
}

/** Throws RUNTIME_NOT_INSTALLED naming the first serving peer that does not resolve from slipway. */
export function checkServingPeers(command: string): void {
  const resolve = createRequire(import.meta.url).resolve;
  for (const name of PEER_NAMES) {
    try {
      resolve(name);
    } catch (err) {
      throw servingPeerMissing(command, name, err);
    }
  }
}

/** The serving peer a failed import could not find, if that is why it failed. */
export function missingServingPeer(err: unknown): string | undefined {
  if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const message = (err as Error).message;
  return PEER_NAMES.find((name) => message.includes(`'${name}'`));
}
