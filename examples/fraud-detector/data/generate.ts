/**
 * Deterministic training data for the example fraud-detector pipeline:
 *   npx tsx examples/fraud-detector/data/generate.ts
 * writes transactions.csv (10 000 card transactions) and transactions-drifted.csv (10 000 from
 * the drifted population, the labelled data a retrain after the drift alert uses). The features follow the same population
 * as examples/data/fraud-train.csv (so the drift fixtures drift against it), but the label
 * depends on them more sharply: a model can pass the pipeline's gates (AUC >= 0.92, recall at
 * 1% FPR >= 0.6), which the drift fixtures' noisier labels cannot. Columns: the model's six
 * inputs in tensor order, then `channel` and the label `is_fraud`.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mulberry32, normalSource } from '../../../lib/drift/random.js';

export const COLUMNS = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h', 'channel', 'is_fraud'] as const;

export interface Population {
  readonly amountLog: number;
  readonly nightShare: number;
  readonly channels: ReadonlyArray<readonly [string, number]>;
  readonly distanceMean: number;
}

export const TRAINING: Population = { amountLog: 3.8, nightShare: 0.08, channels: [['web', 0.45], ['pos', 0.35], ['app', 0.2]], distanceMean: 18 };
/** The population of examples/data/fraud-drifted.csv: what a retrain after the drift alert learns from. */
export const DRIFTED: Population = { amountLog: 4.3, nightShare: 0.3, channels: [['web', 0.3], ['pos', 0.25], ['app', 0.35], ['atm', 0.1]], distanceMean: 35 };

export function transactionsCsv(rows: number, seed: number, population: Population = TRAINING): string {
  const u = mulberry32(seed);
  const z = normalSource(u);
  const lines: string[] = [COLUMNS.join(',')];
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
    for (const [name, share] of population.channels) {
      if ((r -= share) < 0) {
        channel = name;
        break;
      }
    }
    const risk = 0.004 * amount + 2.5 * merchantRisk + 0.01 * distance - 0.0015 * accountAge + 0.15 * txnCount + (hour < 5 || hour >= 22 ? 1.2 : 0);
    const isFraud = u() < 1 / (1 + Math.exp(-(16 * risk - 45))) ? 1 : 0;
    // A few missing values, as real extracts have; the notebook imputes them.
    const distanceCell = u() < 0.01 ? '' : distance.toFixed(1);
    lines.push([amount.toFixed(2), hour, merchantRisk.toFixed(3), distanceCell, accountAge, txnCount, channel, isFraud].join(','));
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(new URL('transactions.csv', import.meta.url), transactionsCsv(10_000, 2024));
  writeFileSync(new URL('transactions-drifted.csv', import.meta.url), transactionsCsv(10_000, 2025, DRIFTED));
}
