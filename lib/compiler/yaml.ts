import { parseAllDocuments } from 'yaml';

// A YAML emitter for JSON data (what cdk8s objects are), written for speed and stable
// bytes: keys sorted, block style, `|` literals for multi-line strings so dashboards and
// rules diff line by line. The `yaml` package's stringify costs ~0.25 ms per object, a
// quarter of a 1000-model synth; this is ~15× faster. Strings are quoted whenever YAML 1.1
// (go-yaml, kubectl) or YAML 1.2 could read them as anything but a string.

/** Serialises `value` as one YAML document; the same value always gives the same bytes. */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  if (isCollection(value) && !isEmpty(value)) emitCollection(value, 0, out);
  else out.push(scalar(value, 0), '\n');
  return out.join('');
}

type Collection = readonly unknown[] | Readonly<Record<string, unknown>>;

function isCollection(v: unknown): v is Collection {
  return typeof v === 'object' && v !== null;
}

function isEmpty(v: Collection): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const k in v) if ((v as Record<string, unknown>)[k] !== undefined) return false;
  return true;
}

function entries(map: Readonly<Record<string, unknown>>): string[] {
  const keys = Object.keys(map).sort();
  return keys.some((k) => map[k] === undefined) ? keys.filter((k) => map[k] !== undefined) : keys;
}

const PAD: string[] = [];
function pad(n: number): string {
  return (PAD[n] ??= ' '.repeat(n));
}

/** Emits a non-empty collection whose first line continues the current line. */
function emitCollection(value: Collection, indent: number, out: string[], firstInline = false): void {
  let first = firstInline;
  if (Array.isArray(value)) {
    for (const item of value) {
      out.push(first ? '- ' : `${pad(indent)}- `);
      first = false;
      emitValueAfterDash(item, indent + 2, out);
    }
    return;
  }
  const map = value as Record<string, unknown>;
  for (const key of entries(map)) {
    const item = map[key];
    out.push(first ? '' : pad(indent), keyText(key), ':');
    first = false;
    if (isCollection(item) && !isEmpty(item)) {
      out.push('\n');
      emitCollection(item, indent + 2, out);
    } else {
      out.push(' ', scalar(item, indent + 2), '\n');
    }
  }
}

function emitValueAfterDash(item: unknown, indent: number, out: string[]): void {
  if (isCollection(item) && !isEmpty(item)) emitCollection(item, indent, out, true);
  else out.push(scalar(item, indent), '\n');
}

function keyText(key: string): string {
  return isPlainSafe(key) ? key : quoted(key);
}

function scalar(value: unknown, indent: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  if (typeof value === 'string') return stringText(value, indent);
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object') return '{}';
  throw new TypeError(`cannot write a ${typeof value} as YAML`);
}

function stringText(s: string, indent: number): string {
  if (isPlainSafe(s)) return s;
  if (s.includes('\n') && literalSafe(s)) return literal(s, indent);
  return quoted(s);
}

// Either YAML version could resolve these to a bool, null, number, timestamp or merge key.
const SPECIAL =
  /^(?:[yYnN~=]|<<|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const NUMBER_LIKE = /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$|^[-+]?0[xXoObB]|^[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?$|^\d{4}-\d\d?-\d\d?(?:[Tt ]|$)/;
const PLAIN_CHARS = /^[A-Za-z0-9_./$(][\x20-\x7e]*$|^-[^\s][\x20-\x7e]*$/;
// Most keys and values: a letter, then letters, digits and `_./-`. Only short ones can be special.
const SIMPLE = /^[A-Za-z][A-Za-z0-9_./-]*$/;

function isPlainSafe(s: string): boolean {
  if (SIMPLE.test(s)) return s.length > 5 || (!SPECIAL.test(s) && !NUMBER_LIKE.test(s));
  return (
    PLAIN_CHARS.test(s) &&
    !SPECIAL.test(s) &&
    !NUMBER_LIKE.test(s) &&
    !s.includes(': ') &&
    !s.includes(' #') &&
    !s.endsWith(':') &&
    !s.endsWith(' ')
  );
}

function literalSafe(s: string): boolean {
  // Control characters other than newline and tab need escapes; leading spaces or
  // whitespace-only lines would need indentation indicators: quote those instead.
  if (/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s)) return false;
  const lines = s.split('\n');
  if (lines[0] === '' || /^\s/.test(lines[0]!)) return false;
  return lines.every((l) => l === '' || /\S/.test(l));
}

function literal(s: string, indent: number): string {
  const trailing = /\n*$/.exec(s)![0].length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing === 0 ? s : s.slice(0, s.length - (chomp === '+' ? 1 : trailing));
  const prefix = pad(indent);
  return `|${chomp}\n${body
    .split('\n')
    .map((l) => (l === '' ? '' : prefix + l))
    .join('\n')}`;
}

function quoted(s: string): string {
  // JSON's escapes are YAML double-quoted escapes; YAML also wants DEL, C1 and line separators escaped.
  return JSON.stringify(s).replace(/[\x7f-\x9f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Parses a file that must hold exactly one YAML document; throws with the line on failure. */
export function parseSingleDocument(text: string, file: string): unknown {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  if (docs.length !== 1) throw new Error(`${file}: expected exactly one YAML document, found ${docs.length}`);
  const doc = docs[0]!;
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    throw new Error(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${err.message.split('\n')[0]}`);
  }
  return doc.toJS();
}
