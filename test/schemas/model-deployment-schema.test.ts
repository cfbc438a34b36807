import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateModelDeploymentSchema, renderSchema } from '../../scripts/model-deployment-schema.js';

describe('schemas/model-deployment.schema.json', () => {
  it('is what the ModelDeploymentSpec TypeScript interface generates (run `npm run schemas` after changing props)', () => {
    // GIVEN the committed schema
    const committed = readFileSync(new URL('../../schemas/model-deployment.schema.json', import.meta.url), 'utf8');
    // WHEN the schema is generated again from the TypeScript props
    const generated = renderSchema(generateModelDeploymentSchema());
    // THEN the two agree, so spec files and TypeScript accept the same fields
    expect(committed).toBe(generated);
  });

  it('documents every field and forbids unknown ones', () => {
    const schema = generateModelDeploymentSchema() as { $defs: Record<string, { properties?: Record<string, { description?: string }>; additionalProperties?: unknown }> };
    const spec = schema.$defs.ModelDeploymentSpec!;
    expect(spec.additionalProperties).toBe(false);
    const undocumented = Object.entries(spec.properties!).filter(([, p]) => !p.description).map(([k]) => k);
    expect(undocumented).toEqual([]);
  });
});
