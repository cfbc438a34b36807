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

const QUANTITY_FACTORS: Readonly<Record<string, number>> = { '': 1, m: 1e-3, k: 1e3, Ki: 2 ** 10, M: 1e6, Mi: 2 ** 20, G: 1e9, Gi: 2 ** 30, T: 1e12, Ti: 2 ** 40 };

/** A quantity as a number of bytes (`512Mi` → 536870912), rounded down; undefined when it is not a quantity. */
export function quantityBytes(quantity: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(quantity.trim());
  return m ? Math.floor(Number(m[1]) * QUANTITY_FACTORS[m[2] ?? '']!) : undefined;
}
