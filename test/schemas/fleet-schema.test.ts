import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateFleetSchema, renderSchema } from '../../scripts/model-deployment-schema.js';

describe('schemas/fleet.schema.json', () => {
  it('is what the FleetSpec TypeScript interface generates (run `npm run schemas` after changing props)', () => {
    const committed = readFileSync(new URL('../../schemas/fleet.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(renderSchema(generateFleetSchema()));
  });

  it('documents every field and forbids unknown ones', () => {
    const schema = generateFleetSchema() as { $defs: Record<string, { properties?: Record<string, { description?: string }>; additionalProperties?: unknown }> };
    const spec = schema.$defs.FleetSpec!;
    expect(spec.additionalProperties).toBe(false);
    expect(Object.entries(spec.properties!).filter(([, p]) => !p.description).map(([k]) => k)).toEqual([]);
  });
});
