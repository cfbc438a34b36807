import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, catalogEntry, errorId } from '../lib/error-catalog.js';
import { renderErrorDocs } from '../scripts/error-docs.js';

const ROOT = resolve(import.meta.dirname, '..');
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const calleeName = (expr: ts.Expression): string | undefined =>
  ts.isIdentifier(expr) ? expr.text : ts.isPropertyAccessExpression(expr) ? expr.name.text : expr.kind === ts.SyntaxKind.SuperKeyword ? 'super' : undefined;

/**
 * Every error code the sources can throw, found where codes go: string literals in the first
 * argument of `new SlipwayError(…)`, `super(…)` and helpers named `*Error`/`*error`
 * (`dataError`, `doc.error`), `code = '…'` properties, and the values of `code…` lookup tables.
 * Also the places where a code arrives through a variable, which must be a helper's `code`
 * parameter (then its callers are covered by the helper's name).
 */
/** Whether `node` sits in a class declared `extends SlipwayError` (or another *Error of ours that does). */
function extendsSlipwayError(node: ts.Node): boolean {
  let cls: ts.Node | undefined = node;
  while (cls && !ts.isClassLike(cls)) cls = cls.parent;
  const base = cls && ts.isClassLike(cls) ? cls.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression.getText() : undefined;
  return base !== undefined && base !== 'Error' && /Error$/.test(base);
}

function scan(): { codes: Map<string, string>; untraced: string[] } {
  const codes = new Map<string, string>();
  const untraced: string[] = [];
  for (const file of [...sourceFiles('lib'), ...sourceFiles('constructs')]) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const where = (node: ts.Node) => `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const literals = (node: ts.Node): ts.StringLiteralLike[] =>
      ts.isStringLiteralLike(node) ? [node] : node.getChildren().flatMap(literals);
    const add = (node: ts.Node) => {
      for (const lit of literals(node)) if (CODE.test(lit.text)) codes.set(lit.text, where(lit));
    };
    const visit = (node: ts.Node): void => {
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments?.length) {
        const name = calleeName(node.expression);
        if (name && (/error$/i.test(name) || name === 'super')) {
          const first = node.arguments[0]!;
          add(first);
          const takesCode = name === 'SlipwayError' || (name === 'super' && extendsSlipwayError(node));
          if (takesCode && !literals(first).some((l) => CODE.test(l.text)) && !(ts.isIdentifier(first) && first.text === 'code')) {
            untraced.push(`${where(node)}: ${first.getText()}`);
          }
        }
      }
      if ((ts.isPropertyDeclaration(node) || ts.isPropertyAssignment(node)) && node.name.getText() === 'code' && node.initializer) add(node.initializer);
      if (ts.isVariableDeclaration(node) && /code/i.test(node.name.getText()) && node.initializer && ts.isObjectLiteralExpression(node.initializer)) add(node.initializer);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { codes, untraced };
}

describe('error catalog', () => {
  const { codes, untraced } = scan();

  it('finds the codes the sources throw', () => {
    // A scan that finds nothing would pass everything below.
    for (const known of ['INVALID_SPEC', 'INVALID_PROPS', 'APP_NOT_FOUND', 'DRIFT_RAGGED_ROW', 'DRIFT_BASELINE_INVALID', 'RUNTIME_ERROR', 'RUNTIME_BAD_REQUEST', 'REPO_LOCKED']) {
      expect(codes.has(known), known).toBe(true);
    }
    expect(untraced).toEqual([]);
  });

  it('has an id, a cause and a fix for every code used in lib/ and constructs/', () => {
    const missing = [...codes].filter(([code]) => !catalogEntry(code)).map(([code, at]) => `${code} (${at})`);
    expect(missing, 'add these to lib/error-catalog.ts and run npm run docs:errors').toEqual([]);
  });

  it('gives every code its own well-formed id', () => {
    const ids = Object.values(ERROR_CATALOG).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const entry of Object.values(ERROR_CATALOG)) {
      expect(entry.id).toMatch(/^SLIPWAY_E\d{4}$/);
      expect(entry.cause.length).toBeGreaterThan(10);
      expect(entry.fix.length).toBeGreaterThan(5);
    }
    expect(errorId('NO_SUCH_CODE')).toBe(ERROR_CATALOG.INTERNAL_ERROR.id);
  });

  it('documents every code in docs/errors.md, as npm run docs:errors renders it', () => {
    const docs = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(docs).toContain(`### ${entry.id}\n\n\`${code}\``);
    }
    expect(docs, 'run npm run docs:errors').toBe(renderErrorDocs());
  });
});
