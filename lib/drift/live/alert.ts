import type { DriftReport } from '../compare.js';
import { ALERT_DEFAULTS } from '../defaults.js';

export interface DriftAlertOptions {
  /** Where to POST the Alertmanager-format webhook (e.g. the Tekton EventListener). */
  readonly url: string;
  /** How long drift must last before the alert fires. @default 900 (15 minutes, as the DriftMonitor construct) */
  readonly sustainSeconds?: number;
  /** Least time between two alerts for this model, whatever the episodes. @default 21600 (6 hours) */
  readonly cooldownSeconds?: number;
  /** `receiver` of the payload. @default 'slipway-runtime' */
  readonly receiver?: string;
  /** `labels.severity` of the alert. @default 'warning' */
  readonly severity?: string;
  /** `externalURL` of the payload (where a person can look). @default '' */
  readonly externalUrl?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

export const DRIFT_ALERT_NAME = 'SlipwayModelDrift';

/** Alertmanager's fingerprint: FNV-1a 64 over sorted label names and values, 0xff separated. */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  const prime = 1099511628211n;
  const mask = (1n << 64n) - 1n;
  let hash = 14695981039346656037n;
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) hash = ((hash ^ BigInt(b)) * prime) & mask;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    add(encoder.encode(name));
    add(Uint8Array.of(0xff));
    add(encoder.encode(labels[name]!));
    add(Uint8Array.of(0xff));
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * When to alert: an episode starts with the first window that needs attention and ends with
 * the first that does not; one delivered alert per episode, once it has lasted
 * `sustainSeconds`, and never two within `cooldownSeconds`.
 */
export class AlertState {
  private since: number | undefined;
  private episodeAlerted = false;
  private lastAlertAt: number | undefined;

  constructor(private readonly options: { readonly sustainSeconds?: number; readonly cooldownSeconds?: number } = {}) {}

  /** Feeds one evaluation; returns the episode start while it lasts. */
  observe(now: number, attention: boolean): number | undefined {
    if (attention) this.since ??= now;
    else {
      this.since = undefined;
      this.episodeAlerted = false;
    }
    return this.since;
  }

  get drifting(): number | undefined {
    return this.since;
  }

  shouldAlert(now: number): boolean {
    if (this.since === undefined || this.episodeAlerted) return false;
    if (now - this.since < (this.options.sustainSeconds ?? ALERT_DEFAULTS.sustainSeconds) * 1000) return false;
    return this.lastAlertAt === undefined || now - this.lastAlertAt >= (this.options.cooldownSeconds ?? ALERT_DEFAULTS.cooldownSeconds) * 1000;
  }

  /** Only a delivered alert ends the episode's duty; a failed one is retried next evaluation. */
  delivered(now: number): void {
    this.episodeAlerted = true;
    this.lastAlertAt = now;
  }
}

/** POSTs the payload; throws with the receiver's status on failure. */
export async function sendWebhook(alert: DriftAlertOptions, payload: unknown): Promise<void> {
  const response = await fetch(alert.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(alert.timeoutMs ?? ALERT_DEFAULTS.timeoutMs),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}

/** Alertmanager webhook payload (version 4), as Alertmanager itself would POST it. */
export function alertPayload(model: string, snapshot: DriftReport, since: number, alert: Omit<DriftAlertOptions, 'url'>, version?: string): Record<string, unknown> {
  const drifted = [
    ...Object.entries(snapshot.features).filter(([, r]) => r.drifted).map(([n]) => n),
    ...Object.entries(snapshot.outputs ?? {}).filter(([, r]) => r.drifted).map(([n]) => `${n} (output)`),
    ...(snapshot.target?.report.drifted ? [`${snapshot.target.name} (label)`] : []),
  ];
  const quality = (snapshot.quality?.findings ?? []).filter((f) => f.severity === 'warning');
  const labels = { alertname: DRIFT_ALERT_NAME, model, ...(version ? { version } : {}), severity: alert.severity ?? ALERT_DEFAULTS.severity };
  const what = [
    ...(drifted.length > 0 ? [`Drift in ${drifted.join(', ')}`] : []),
    ...quality.map((f) => `${f.column}: ${f.message}`),
  ];
  const annotations = {
    summary: drifted.length > 0 ? `Model ${model} has drifted` : `Model ${model} has data-quality problems`,
    description: `${what.join('; ')}; since ${new Date(since).toISOString()} over ${snapshot.rows} sampled rows.`,
    drifted_features: drifted.join(','),
    data_quality: quality.map((f) => `${f.column}:${f.kind}`).join(','),
  };
  const groupLabels = { alertname: DRIFT_ALERT_NAME, model };
  return {
    version: '4',
    groupKey: `{}:{alertname="${DRIFT_ALERT_NAME}", model="${model}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: alert.receiver ?? ALERT_DEFAULTS.receiver,
    groupLabels,
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: alert.externalUrl ?? '',
    alerts: [{
      status: 'firing',
      labels,
      annotations,
      startsAt: new Date(since).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: alert.externalUrl ?? '',
      fingerprint: alertFingerprint(labels),
    }],
  };
}
