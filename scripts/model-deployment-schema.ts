import { createGenerator } from 'ts-json-schema-generator';

const SCHEMA_ID = 'https://slipway.dev/schemas/model-deployment.schema.json';

/**
 * Generates the JSON Schema of model spec files from the `ModelDeploymentSpec` TypeScript
 * interface, so the schema and the construct props cannot drift apart.
 */
export function generateModelDeploymentSchema(): Record<string, unknown> {
  return generateSpecSchema('../constructs/model-deployment.ts', 'ModelDeploymentSpec', SCHEMA_ID, 'slipway model spec (ModelDeployment)');
}

/** The JSON Schema of fleet spec files, from the `FleetSpec` interface. */
export function generateFleetSchema(): Record<string, unknown> {
  return generateSpecSchema('../constructs/fleet.ts', 'FleetSpec', 'https://slipway.dev/schemas/fleet.schema.json', 'slipway fleet spec (Fleet)');
}

function generateSpecSchema(file: string, type: string, id: string, title: string): Record<string, unknown> {
  const generated = createGenerator({
    path: new URL(file, import.meta.url).pathname,
    tsconfig: new URL('../tsconfig.json', import.meta.url).pathname,
    type,
    additionalProperties: false,
    skipTypeCheck: true,
    sortProps: true,
    jsDoc: 'extended',
    markdownDescription: false,
  }).createSchema(type);
  // Draft 2020-12 keeps definitions under $defs. A `@default` that describes behaviour
  // ("- the model's name") is no value: it moves into the description.
  const text = JSON.stringify(generated, (_key, value: unknown) => describeBehaviourDefault(value)).replaceAll(
    '"#/definitions/',
    '"#/$defs/',
  );
  const { definitions, $schema: _draft07, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: id,
    title,
    ...rest,
    $defs: definitions,
  };
}

function describeBehaviourDefault(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const node = value as Record<string, unknown>;
  if (typeof node.default !== 'string' || !node.default.startsWith('- ')) return value;
  const { default: behaviour, ...rest } = node;
  const description = typeof rest.description === 'string' ? `${rest.description} ` : '';
  return { ...rest, description: `${description}Default: ${(behaviour as string).slice(2)}.` };
}

export function renderSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
