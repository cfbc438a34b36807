/** The feedback extension's body: a request id and the observed labels. */
import { badRequest } from '../errors.js';
import type { FeedbackLabel } from '../observer.js';
import type { JsonValue } from '../json.js';
import { stringifyJson } from '../protocol.js';
import { MAX_FEEDBACK_ID_BYTES, idBytes } from '../data-plane.js';

/** Feedback bodies are an id and labels: far below the inference limit. */
export const MAX_FEEDBACK_BYTES = 1024 * 1024;

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  // Depth-limited: a label nested 100,000 deep must not overflow the stack while we describe it.
  const text = stringifyJson(value as JsonValue, 3);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

/** `{"id": "<request id>", "label": 1 | "fraud" | [labels per row]}`, checked field by field. */
export function parseFeedback(body: Buffer): { id: string; label: FeedbackLabel } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`feedback body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`feedback body must be a JSON object {"id": "<request id>", "label": <observed label>}, got ${describeJson(parsed)}`);
  }
  const { id, label } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') {
    throw badRequest(`feedback "id": expected the inference request's id (a non-empty string), got ${id === undefined ? 'nothing' : describeJson(id)}`);
  }
  if (idBytes(id) > MAX_FEEDBACK_ID_BYTES) {
    throw badRequest(`feedback "id": ids longer than ${MAX_FEEDBACK_ID_BYTES} bytes are not retained for feedback, got ${idBytes(id)} bytes; send a shorter "id" with the inference request`);
  }
  const scalar = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
  if (Array.isArray(label)) {
    const bad = label.findIndex((v) => !scalar(v));
    if (label.length === 0 || bad !== -1) {
      throw badRequest(`feedback "label": expected a number or string per row, got ${label.length === 0 ? 'an empty array' : `${describeJson(label[bad])} at label[${bad}]`}`);
    }
    return { id, label };
  }
  if (!scalar(label)) {
    throw badRequest(`feedback "label": expected the observed label (a number, a string, or an array of them, one per row), got ${label === undefined ? 'nothing' : describeJson(label)}`);
  }
  return { id, label };
}

