import { writeFileSync } from 'node:fs';
import { generateModelDeploymentSchema, renderSchema } from './model-deployment-schema.js';

const target = new URL('../schemas/model-deployment.schema.json', import.meta.url);
writeFileSync(target, renderSchema(generateModelDeploymentSchema()));
console.log(`wrote ${target.pathname}`);
