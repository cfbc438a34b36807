/** Clamps a probability into [0, 1] (floating error at the ends of p-value sums). */
export const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);
