import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../schemas/fleet.schema.json' with { type: 'json' };
import { SlipwayError } from '../../lib/errors.js';
import type { Fleet, FleetSpec } from '../fleet.js';
import { SpecFileError, type SpecProblem, nodeAt, parseSpecFile, schemaProblem, sortByLine } from '../private/spec-file.js';
import { ConstructValidationError } from '../private/validation.js';

let validator: ValidateFunction | undefined;

/** `waves[1].sites` → `/waves/1/sites`. */
function pointerOf(field: string): string {
  return `/${field.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
}

/**
 * Reads a fleet spec, validates it against the generated schema and builds the Fleet with
 * `build`. Schema problems, construct problems and the plan's problems (FLEET_*) all come back
 * located on the file's lines; the plan's keep their code.
 */
export function buildFleetFromFile(path: string, build: (props: FleetSpec) => Fleet): Fleet {
  const { file, doc, value, locate } = parseSpecFile(path);
  validator ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  if (!validator(value)) throw new SpecFileError(file, sortByLine((validator.errors ?? []).map((e) => schemaProblem(doc, e, locate))));
  const { $schema: _schema, ...props } = value as FleetSpec & { $schema?: string };
  const at = (pointer: string): SpecProblem => {
    // The closest enclosing field the file has a line for.
    for (let p = pointer; p; p = p.slice(0, p.lastIndexOf('/'))) {
      const where = locate(nodeAt(doc, p)?.range?.[0]);
      if (where.line) return { pointer, ...where, message: '' };
    }
    return { pointer, message: '' };
  };
  try {
    return build(props as FleetSpec);
  } catch (err) {
    if (err instanceof ConstructValidationError) {
      throw new SpecFileError(file, sortByLine(err.problems.map((p) => ({ ...at(pointerOf(p.field)), message: p.message }))));
    }
    if (err instanceof SlipwayError && err.code.startsWith('FLEET_')) {
      // The plan's problems, one per line: `  - <field>: <message> (<CODE>)`.
      const lines = err.message.split('\n').slice(1).map((line) => {
        const m = /^ {2}- (\S+): (.*)$/.exec(line);
        if (!m) return line;
        const where = at(pointerOf(m[1]!));
        return `  ${file}${where.line ? `:${where.line}:${where.column}` : ''} ${where.pointer}: ${m[2]}`;
      });
      const code = err.code;
      throw new SlipwayError(code, `${file}: invalid fleet plan:\n${lines.join('\n')}`, err.exitCode, { cause: err });
    }
    throw err;
  }
}
