import { writeFileSync } from 'node:fs';
import { generateFleetSchema, generateModelDeploymentSchema, renderSchema } from './model-deployment-schema.js';

const target = new URL('../schemas/model-deployment.schema.json', import.meta.url);
writeFileSync(target, renderSchema(generateModelDeploymentSchema()));
console.log(`wrote ${target.pathname}`);
const fleetTarget = new URL('../schemas/fleet.schema.json', import.meta.url);
writeFileSync(fleetTarget, renderSchema(generateFleetSchema()));
console.log(`wrote ${fleetTarget.pathname}`);
