import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { crdSchemaFileName, crdSchemaFiles } from '../lib/compiler/crd-schemas.js';
import { generateFleetSchema, generateModelDeploymentSchema, renderSchema } from './model-deployment-schema.js';

const target = new URL('../schemas/model-deployment.schema.json', import.meta.url);
writeFileSync(target, renderSchema(generateModelDeploymentSchema()));
console.log(`wrote ${target.pathname}`);

const fleetTarget = new URL('../schemas/fleet.schema.json', import.meta.url);
writeFileSync(fleetTarget, renderSchema(generateFleetSchema()));
console.log(`wrote ${fleetTarget.pathname}`);

// schemas/crds/: the upstream CRDs' schemas that synth validates KServe and Trainer objects with.
const crds = new URL('../test/fixtures/upstream/crds/', import.meta.url);
const out = new URL('../schemas/crds/', import.meta.url);
mkdirSync(out, { recursive: true });
for (const name of readdirSync(crds).filter((f) => f.endsWith('.yaml')).sort()) {
  for (const file of crdSchemaFiles(readFileSync(new URL(name, crds), 'utf8'))) {
    writeFileSync(new URL(crdSchemaFileName(file.apiVersion, file.kind), out), `${JSON.stringify(file)}\n`);
    console.log(`wrote schemas/crds/${crdSchemaFileName(file.apiVersion, file.kind)} (from ${name})`);
  }
}
