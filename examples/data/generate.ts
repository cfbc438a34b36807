/**
 * Deterministic example data for the fraud-detector model:
 *   npx tsx examples/data/generate.ts
 * writes fraud-train.csv (training data, 10 000 rows), fraud-current.csv (same
 * population, new draws: no drift) and fraud-drifted.csv (larger amounts, more
 * night-time app traffic, a new `atm` channel). Columns: the model's six inputs in
 * tensor order, then `channel` and the label `is_fraud`.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mulberry32, normalSource } from '../../lib/drift/random.js';

export const FRAUD_COLUMNS = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h', 'channel', 'is_fraud'] as const;

export interface Population {
  readonly amountLog: number;
  readonly nightShare: number;
  readonly channels: ReadonlyArray<readonly [string, number]>;
  readonly distanceMean: number;
}

export const TRAINING: Population = { amountLog: 3.8, nightShare: 0.08, channels: [['web', 0.45], ['pos', 0.35], ['app', 0.2]], distanceMean: 18 };
export const DRIFTED: Population = { amountLog: 4.3, nightShare: 0.3, channels: [['web', 0.3], ['pos', 0.25], ['app', 0.35], ['atm', 0.1]], distanceMean: 35 };

/**
 * Probability of fraud given the transaction's risk score (a weighted sum of its features).
 * These drift fixtures' labels are noisy; examples/fraud-detector's are sharper.
 */
export type FraudProbability = (risk: number) => number;

const NOISY_LABELS: FraudProbability = (risk) => 1 / (1 + Math.exp(-(risk - 5)));

export function fraudCsv(rows: number, seed: number, population: Population, fraudProbability: FraudProbability = NOISY_LABELS): string {
  const u = mulberry32(seed);
  const z = normalSource(u);
  const lines: string[] = [FRAUD_COLUMNS.join(',')];
  for (let i = 0; i < rows; i++) {
    const amount = Math.exp(population.amountLog + 0.9 * z());
    const hour = u() < population.nightShare ? (22 + Math.floor(u() * 7)) % 24 : 7 + Math.floor(u() * 15);
    const merchantRisk = Math.min(1, u() ** 1.8);
    const distance = -Math.log(1 - u()) * population.distanceMean;
    const accountAge = Math.floor(-Math.log(1 - u()) * 700) + 1;
    let txnCount = 0;
    for (let p = Math.exp(-3), s = p, r = u(); r > s && txnCount < 60; ) {
      txnCount++;
      p *= 3 / txnCount;
      s += p;
    }
    let r = u();
    let channel = population.channels[population.channels.length - 1]![0];
    for (const [name, share] of population.channels) if ((r -= share) < 0) { channel = name; break; }
    const risk = 0.004 * amount + 2.5 * merchantRisk + 0.01 * distance - 0.0015 * accountAge + 0.15 * txnCount + (hour < 5 || hour >= 22 ? 1.2 : 0);
    const isFraud = u() < fraudProbability(risk) ? 1 : 0;
    // A few missing values, as real extracts have.
    const distanceCell = u() < 0.01 ? '' : distance.toFixed(1);
    lines.push([amount.toFixed(2), hour, merchantRisk.toFixed(3), distanceCell, accountAge, txnCount, channel, isFraud].join(','));
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = new URL('.', import.meta.url);
  writeFileSync(new URL('fraud-train.csv', dir), fraudCsv(10_000, 42, TRAINING));
  writeFileSync(new URL('fraud-current.csv', dir), fraudCsv(2_000, 7, TRAINING));
  writeFileSync(new URL('fraud-drifted.csv', dir), fraudCsv(2_000, 99, DRIFTED));
}
