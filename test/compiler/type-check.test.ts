import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typeCheckApp } from '../../lib/compiler/type-check.js';
import { parseTscOutput } from '../../lib/compiler/type-check-cli.js';

// The command-line path is the one TypeScript 7 takes (its package has no JavaScript API); here
// it runs this checkout's TypeScript 5 `tsc`, whose command line and plain output TypeScript 7
// shares. The package test runs the same path with npm's latest TypeScript.
const ROOT = resolve(import.meta.dirname, '../..');
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.tmp', 'type-check-'));
const outside = mkdtempSync(join(tmpdir(), 'slipway-type-check-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function project(dir: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const APP = `interface ServingProps { readonly maxReplicas?: number }
declare function serve(props: ServingProps): void;
export const limit: number = GLOBAL_LIMIT;
serve({ maxReplica: limit });
`;

describe.each([
  ['the compiler API (TypeScript 5 and 6)', false],
  ['the tsc command line (TypeScript 7)', true],
])('typeCheckApp through %s', (_, forceTsc) => {
  const dir = project(join(work, forceTsc ? 'cli' : 'api'), {
    'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, incremental: true }, include: ['apps', 'types', 'test'] }),
    'types/globals.d.ts': 'declare const GLOBAL_LIMIT: number;\n',
    'test/broken.test.ts': "export const notChecked: number = 'tests are not part of the app';\n",
    'apps/good.ts': APP.replace('maxReplica:', 'maxReplicas:'),
    'apps/typo.ts': APP,
  });

  it('passes an app that type-checks with the project declarations, ignoring the project tests', async () => {
    await expect(typeCheckApp(join(dir, 'apps/good.ts'), 'apps/good.ts', { forceTsc })).resolves.toBeUndefined();
    // AND it emits nothing and leaves no generated tsconfig behind
    expect(readdirSync(dir).sort()).toEqual(['apps', 'test', 'tsconfig.json', 'types']);
    const scratch = join(ROOT, 'node_modules/.cache/slipway');
    expect((existsSync(scratch) ? readdirSync(scratch) : []).filter((f) => /^type-check-\d+-/.test(f))).toEqual([]);
  }, 60_000);

  it('fails when a prop is misspelled, naming file:line:column and the message as tsc prints it', async () => {
    const failure = typeCheckApp(join(dir, 'apps/typo.ts'), 'apps/typo.ts', { forceTsc });
    await expect(failure).rejects.toMatchObject({ code: 'APP_TYPE_ERRORS', id: 'SLIPWAY_E0104' });
    await expect(failure).rejects.toThrow(
      /^apps\/typo\.ts: 1 type error \(pass --no-type-check to run the app anyway\):\n {2}\S*apps\/typo\.ts:4:9 - error TS2561: Object literal may only specify known properties, but 'maxReplica' does not exist in type 'ServingProps'\. Did you mean to write 'maxReplicas'\?$/,
    );
  }, 60_000);

  it('fails when the tsconfig.json is invalid, naming it', async () => {
    const bad = project(join(work, `${forceTsc ? 'cli' : 'api'}-bad`), {
      'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, notAnOption: true }, include: ['*.ts'] }),
      'main.ts': 'export const one = 1;\n',
    });
    await expect(typeCheckApp(join(bad, 'main.ts'), 'main.ts', { forceTsc })).rejects.toThrow(/tsconfig\.json:1:\d+ - error TS5023: Unknown compiler option 'notAnOption'/);
  }, 60_000);

  it('checks an app without a tsconfig.json with strict defaults', async () => {
    const dir = project(join(outside, forceTsc ? 'cli' : 'api'), { 'main.ts': 'export function twice(x) { return x * 2; }\n' });
    await expect(typeCheckApp(join(dir, 'main.ts'), 'main.ts', { forceTsc })).rejects.toThrow(/main\.ts:1:23 - error TS7006: Parameter 'x' implicitly has an 'any' type/);
  }, 60_000);
});

describe('parseTscOutput', () => {
  it('turns plain tsc output into file:line:column lines, keeps continuation lines and collects --listFiles paths', () => {
    const out = parseTscOutput(
      [
        "apps/main.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        "  Type 'a' is not comparable to type 'b'.",
        'error TS6053: File not found.',
        '/project/node_modules/typescript/lib/lib.es5.d.ts',
        '/project/apps/main.ts',
        '',
      ].join('\n'),
    );
    expect(out.errors).toEqual([
      `${resolve('apps/main.ts') === join(process.cwd(), 'apps/main.ts') ? 'apps/main.ts' : ''}:3:7 - error TS2322: Type 'string' is not assignable to type 'number'.\n    Type 'a' is not comparable to type 'b'.`,
      'error TS6053: File not found.',
    ]);
    expect(out.read).toEqual(['/project/node_modules/typescript/lib/lib.es5.d.ts', '/project/apps/main.ts']);
  });
});
