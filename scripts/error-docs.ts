// Writes docs/errors.md from lib/error-catalog.ts (npm run docs:errors); test/error-catalog.test.ts
// fails when the committed page differs from what this renders.
import { writeFileSync } from 'node:fs';
import { ERROR_CATALOG } from '../lib/error-catalog.js';

export function renderErrorDocs(): string {
  const rows = Object.entries(ERROR_CATALOG)
    .sort(([, a], [, b]) => a.id.localeCompare(b.id))
    .map(([code, e]) => `### ${e.id}\n\n\`${code}\`\n\n- **Cause:** ${e.cause}\n- **Fix:** ${e.fix}\n`);
  return `# Errors

Every error slipway reports has a stable id, \`SLIPWAY_E####\`, printed under the message:

\`\`\`
slipway: apps/models/churn.yaml: 1 problem:
  apps/models/churn.yaml:7:17 /artifactSha256: expected 64 lower-case hex digits …
  error SLIPWAY_E0112 (INVALID_SPEC): cause and fix in docs/errors.md#slipway_e0112
\`\`\`

In code, every error is a \`SlipwayError\` (\`ConstructValidationError\`, \`SpecFileError\` and the
runtime's \`InferenceError\` extend it) with \`code\` (the symbolic code below) and \`id\`.
Ids are never reused or renumbered. Ranges: E00xx general, E01xx app, constructs and spec files,
E02xx config repository and releases, E03xx remotes, E04xx \`slipway init\`, E05xx drift,
E06xx serving runtime.

This page is generated from \`lib/error-catalog.ts\` by \`npm run docs:errors\`.

${rows.join('\n')}`;
}

if (import.meta.filename === process.argv[1]) writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
