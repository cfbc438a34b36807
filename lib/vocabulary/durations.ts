/** One-unit durations as Prometheus, Argo Rollouts and slipway's props write them: `30s`, `5m`, `1h`. */
export const SIMPLE_DURATION = /^[0-9]+(s|m|h)$/;

/** Go-style compound durations as Tekton timeouts take them: `90m`, `2h30m`, `45s`. */
export const COMPOUND_DURATION = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/;

/** Seconds of a compound duration, or undefined when it is not one. */
export function durationSeconds(duration: string): number | undefined {
  const m = COMPOUND_DURATION.exec(duration);
  if (!m || duration === '') return undefined;
  return Number(m[1]?.slice(0, -1) ?? 0) * 3600 + Number(m[2]?.slice(0, -1) ?? 0) * 60 + Number(m[3]?.slice(0, -1) ?? 0);
}
