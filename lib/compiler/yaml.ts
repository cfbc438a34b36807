import { parseAllDocuments, stringify } from 'yaml';

/**
 * Serialises one object as YAML the same way every time: keys sorted at every level, no
 * anchors for repeated sub-objects, no line folding. Byte-identical output on re-runs is what
 * makes "no changes" detectable and reviews small.
 */
export function toYaml(value: unknown): string {
  return stringify(value, {
    sortMapEntries: true,
    aliasDuplicateObjects: false,
    lineWidth: 0,
    minContentWidth: 0,
  });
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
