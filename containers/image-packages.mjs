// Rewrites the package.json and package-lock.json copied into the image context (DIR) so that
// `npm ci --omit=dev` installs what the runtime image needs besides the package's own
// dependencies: onnxruntime-node and @grpc/proto-loader to serve, and cdk8s, cdk8s-plus-28 and constructs for the
// pipeline's `slipway pipeline <step>` commands, which synthesize apps. For the published
// package those are peer dependencies its users bring (dev dependencies of this repository),
// so the lock file marks them dev; here they become dependencies at the versions it pins.
//
//   node containers/image-packages.mjs DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const IMAGE_PEERS = ['onnxruntime-node', '@grpc/proto-loader', 'cdk8s', 'cdk8s-plus-28', 'constructs'];

/** Where npm resolves `name` when required from the package installed at `from` (a lock path). */
function resolveIn(packages, from, name) {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[path]) return path;
    if (!dir) return undefined;
  }
}

export function promotePeers(pkg, lock, names = IMAGE_PEERS) {
  const packages = lock.packages;
  const pending = names.map((name) => `node_modules/${name}`);
  const seen = new Set();
  while (pending.length > 0) {
    const path = pending.pop();
    if (seen.has(path)) continue;
    const entry = packages[path];
    if (!entry) throw new Error(`${path} is not in package-lock.json: run npm install in the checkout`);
    seen.add(path);
    delete entry.dev;
    delete entry.devOptional;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const resolved = resolveIn(packages, path, dep);
      if (resolved) pending.push(resolved);
    }
  }
  // npm keeps one edge per name from the root, and a dev or peer edge wins over a prod one.
  for (const manifest of [pkg, packages['']]) {
    for (const name of names) {
      for (const field of ['devDependencies', 'peerDependencies', 'peerDependenciesMeta']) delete manifest[field]?.[name];
      manifest.dependencies[name] = packages[`node_modules/${name}`].version;
    }
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node containers/image-packages.mjs DIR');
    process.exit(2);
  }
  const read = (file) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const pkg = read('package.json');
  const lock = read('package-lock.json');
  promotePeers(pkg, lock);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
}
