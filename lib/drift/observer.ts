import type { Registry } from 'prom-client';
import { LiveDriftMonitor, type LiveDriftOptions, type LiveHistory, type LiveSnapshot } from './live.js';
import type { BaselineProfile } from './profile.js';

/**
 * Adapter from the runtime's per-model observer seam (lib/runtime/observer.ts) to the live
 * monitor. Types are structural so lib/drift does not depend on lib/runtime.
 */
export interface ObservedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: unknown;
}

export interface DriftObserver {
  readonly monitor: LiveDriftMonitor;
  observe(record: { readonly inputs: readonly ObservedTensor[]; readonly outputs: readonly ObservedTensor[]; readonly id?: string }): void;
  /** The monitor's latest evaluated window (GET /v2/models/{name}/drift). */
  snapshot(): LiveSnapshot;
  /** The last evaluated windows, oldest first (GET /v2/models/{name}/drift?history=1). */
  history(): LiveHistory;
  /** Present only when `feedback` is set: scores a request's predictions (false: id not held). */
  recordFeedback?(requestId: string, observed: number | string | ReadonlyArray<number | string>): boolean;
  close(): Promise<void>;
}

export type DriftObserverSettings = Omit<LiveDriftOptions, 'model' | 'version' | 'baseline' | 'registry' | 'alert'> & {
  readonly registry: Registry;
  /** SLIPWAY_DRIFT_WEBHOOK_URL: where sustained drift is POSTed; unset sends nothing. */
  readonly webhookUrl?: string;
  readonly alert?: Omit<NonNullable<LiveDriftOptions['alert']>, 'url'>;
};

/** Numeric typed arrays only: BYTES and 64-bit integer tensors are not profiled features. */
function numericData(data: unknown): ArrayLike<number> | undefined {
  return ArrayBuffer.isView(data) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array) && !(data instanceof DataView)
    ? (data as unknown as ArrayLike<number>)
    : undefined;
}

/** The tensor named in the profile, else the first rank-2 tensor with one column per profiled name. */
function pick(tensors: readonly ObservedTensor[], name: string | undefined, width: number): ObservedTensor | undefined {
  if (name !== undefined) return tensors.find((t) => t.name === name);
  return tensors.find((t) => t.shape.length === 2 && t.shape[1] === width);
}

/** `version` labels every gauge series (the runtime passes the served version). */
export function createDriftObserver(model: string, baseline: BaselineProfile, settings: DriftObserverSettings, version?: string): DriftObserver {
  const { webhookUrl, alert, ...rest } = settings;
  const monitor = new LiveDriftMonitor({
    ...rest,
    model,
    ...(version !== undefined ? { version } : {}),
    baseline,
    ...(webhookUrl ? { alert: { ...alert, url: webhookUrl } } : {}),
  });
  const width = baseline.featureOrder.length;
  const outputWidth = baseline.outputs?.order.length ?? 0;
  return {
    monitor,
    observe(record) {
      const input = pick(record.inputs, baseline.inputTensor, width);
      const inputData = input && numericData(input.data);
      if (input && inputData && input.shape.length === 2) monitor.recordRows(inputData, input.shape[0]!, input.shape[1]!);
      const output = baseline.outputs ? pick(record.outputs, baseline.outputs.tensor, outputWidth) : record.outputs[0];
      const outputData = output && numericData(output.data);
      if (output && outputData && output.shape.length === 2) monitor.recordOutputs(outputData, output.shape[0]!, output.shape[1]!, record.id);
    },
    snapshot: () => monitor.snapshot(),
    history: () => monitor.trend(),
    // Without `feedback` the monitor keeps no predictions: leave the method out so callers can tell.
    ...(settings.feedback ? { recordFeedback: (requestId: string, observed: number | string | ReadonlyArray<number | string>) => monitor.recordFeedback(requestId, observed) } : {}),
    close: () => monitor.close(),
  };
}

/**
 * For the runtime's `observers` option: models served with a baseline.json get a live
 * drift monitor, others none. A baseline that fails validation throws (the runtime logs it).
 */
export function driftObserverFactory(settings: DriftObserverSettings): (model: { readonly name: string; readonly version?: string; readonly baselinePath?: string }) => Promise<DriftObserver | undefined> {
  return async (model) => {
    if (!model.baselinePath) return undefined;
    // Imported here: its schema validator and YAML parser are start-up that repositories without
    // baselines (a thousand-model one above all) should not pay.
    const { readBaseline } = await import('./baseline-file.js');
    return createDriftObserver(model.name, await readBaseline(model.baselinePath), settings, model.version);
  };
}
