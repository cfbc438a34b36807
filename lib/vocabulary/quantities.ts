/** Kubernetes resource quantity as slipway accepts it: `500m`, `2`, `4Gi`. */
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;

export function quantityProblem(value: string): string | undefined {
  return QUANTITY.test(value) ? undefined : `expected a Kubernetes quantity such as "500m", "2" or "4Gi", got ${JSON.stringify(value)}`;
}

/** Twice a quantity, in the same unit: default limits leave headroom for bursts. */
export function doubleQuantity(quantity: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?)(.*)$/.exec(quantity);
  if (!m) return quantity;
  const doubled = Number(m[1]) * 2;
  return `${Number.isInteger(doubled) ? doubled : doubled.toFixed(3).replace(/0+$/, '')}${m[2]}`;
}
