/**
 * Champion/challenger: the champion's runtime mirrors each inference to the challenger's and
 * discards the answer, so the challenger sees live traffic (and its feedback) and measures its
 * own drift and performance, while callers only ever get the champion's response. Built on the
 * observer seam: it runs after the champion's response is on its way and never delays it.
 */
import { Counter, type Registry } from 'prom-client';
import { halfBitsToFloat } from './datatypes.js';
import type { FeedbackLabel, InferenceObserver, InferenceRecord, ObserverFactory } from './observer.js';
import type { Tensor } from './protocol.js';

export const MIRROR_METRIC = 'slipway_mirror_requests_total';

export interface MirrorOptions {
  /** Base URL of the challenger's runtime (its Service), e.g. http://fraud-detector-challenger:8080. */
  readonly url: string;
  /** Most mirrored requests in flight; more are dropped (and counted), never queued. @default 64 */
  readonly maxInFlight?: number;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Reports failures off the request path. @default stderr */
  readonly onError?: (error: Error) => void;
}

function jsonData(t: Tensor): unknown[] {
  if (Array.isArray(t.data)) return t.data;
  if (t.datatype === 'FP16') return Array.from(t.data as Uint16Array, halfBitsToFloat);
  if (t.datatype === 'BOOL') return Array.from(t.data as ArrayLike<number>, (v) => v !== 0);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** The inference request the champion answered, as Open Inference Protocol JSON. */
export function mirrorBody(record: InferenceRecord): string {
  return JSON.stringify({
    ...(record.id !== undefined ? { id: record.id } : {}),
    inputs: record.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) })),
  });
}

/** Wraps a model's observer (or none) so that its traffic and feedback also reach the challenger. */
export function mirrored(inner: InferenceObserver | undefined, model: string, registry: Registry, options: MirrorOptions): InferenceObserver {
  const existing = registry.getSingleMetric(MIRROR_METRIC) as Counter | undefined;
  const counter = existing ?? new Counter({ name: MIRROR_METRIC, help: 'Requests mirrored to the challenger, by outcome (sent, dropped at the in-flight bound, failed); their answers are discarded.', labelNames: ['model', 'outcome', 'kind'], registers: [registry] });
  const base = options.url.replace(/\/+$/, '');
  const maxInFlight = options.maxInFlight ?? 64;
  const onError = options.onError ?? ((err: Error) => process.stderr.write(`slipway mirror[${model}]: ${err.message}\n`));
  // Mirrored inferences in flight by request id: feedback for an id waits for its inference.
  const inFlight = new Map<string, Promise<void>>();
  let pending = 0;
  let warned = false;

  const post = async (path: string, body: string, kind: 'infer' | 'feedback'): Promise<void> => {
    pending++;
    try {
      const res = await fetch(`${base}/v2/models/${encodeURIComponent(model)}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      counter.inc({ model, outcome: 'sent', kind });
    } catch (err) {
      counter.inc({ model, outcome: 'failed', kind });
      if (!warned) {
        warned = true;
        onError(new Error(`mirroring ${kind} to ${base} failed: ${(err as Error).message} (reported once)`));
      }
    } finally {
      pending--;
    }
  };

  return {
    observe(record) {
      inner?.observe(record);
      if (pending >= maxInFlight) {
        counter.inc({ model, outcome: 'dropped', kind: 'infer' });
        return;
      }
      const sent = post('infer', mirrorBody(record), 'infer');
      if (record.id !== undefined) {
        const id = record.id;
        inFlight.set(id, sent);
        void sent.finally(() => {
          if (inFlight.get(id) === sent) inFlight.delete(id);
        });
      }
    },
    recordFeedback(requestId: string, label: FeedbackLabel): boolean {
      const held = inner?.recordFeedback?.(requestId, label) ?? false;
      const body = JSON.stringify({ id: requestId, label });
      const after = inFlight.get(requestId);
      if (pending < maxInFlight) void (after ?? Promise.resolve()).then(() => post('feedback', body, 'feedback'));
      else counter.inc({ model, outcome: 'dropped', kind: 'feedback' });
      return held;
    },
    ...(inner?.snapshot ? { snapshot: () => inner.snapshot!() } : {}),
    ...(inner?.history ? { history: () => inner.history!() } : {}),
    async close() {
      await Promise.allSettled([...inFlight.values()]);
      await inner?.close?.();
    },
  };
}

/** An observer factory whose observers also mirror to the challenger. */
export function mirroringFactory(factory: ObserverFactory | undefined, options: MirrorOptions): ObserverFactory {
  return async (model) => mirrored(await factory?.(model), model.name, model.registry, options);
}
