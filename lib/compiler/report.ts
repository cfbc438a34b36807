import type { ApplicationSummary } from './layout.js';

/** Left-aligned columns separated by two spaces, header first. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Digests are long: the table shows their first 12 hex digits. */
export function shortImage(image: string): string {
  return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}$/, '@sha256:$1…');
}

export function applicationTable(applications: readonly ApplicationSummary[]): string {
  return formatTable(
    ['ENVIRONMENT', 'APPLICATION', 'OBJECTS', 'MODEL VERSION', 'IMAGE'],
    applications.map((a) => [a.environment, a.application, String(a.objects), a.modelVersion ?? '-', a.images.map(shortImage).join(', ') || '-']),
  );
}
