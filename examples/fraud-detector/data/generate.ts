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
import { DRIFTED, fraudCsv, TRAINING, type Population } from '../../data/generate.js';

export { DRIFTED };

/** Labels that follow the risk score sharply (the drift fixtures' are noisier). */
const sharpLabels = (risk: number) => 1 / (1 + Math.exp(-(16 * risk - 45)));

export function transactionsCsv(rows: number, seed: number, population: Population = TRAINING): string {
  return fraudCsv(rows, seed, population, sharpLabels);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(new URL('transactions.csv', import.meta.url), transactionsCsv(10_000, 2024));
  writeFileSync(new URL('transactions-drifted.csv', import.meta.url), transactionsCsv(10_000, 2025, DRIFTED));
}
