/**
 * Model quality from ground truth: the metrics scikit-learn computes, over typed arrays.
 * test/fixtures/performance/ holds scikit-learn's numbers for committed data, and the tests
 * hold these functions to them.
 */

export interface ClassificationMetrics {
  readonly accuracy: number;
  /** Binary: of the positive class (1), as sklearn's average='binary'; else the macro average over the classes seen. */
  readonly precision: number;
  readonly recall: number;
  /** Binary only, from the positive class's score; undefined for one class or many. */
  readonly rocAuc?: number;
}

export interface RegressionMetrics {
  readonly mae: number;
  readonly rmse: number;
}

/**
 * `predicted` and `observed` are class indices; `scores` the positive class's probability
 * (binary). Zero division gives 0, as sklearn's `zero_division=0`.
 */
export function classificationMetrics(predicted: ArrayLike<number>, observed: ArrayLike<number>, n: number, binary: boolean, scores?: ArrayLike<number>): ClassificationMetrics | undefined {
  if (n === 0) return undefined;
  let hits = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === observed[i]) hits++;
  const accuracy = hits / n;
  if (binary) {
    const { precision, recall } = precisionRecall(predicted, observed, n, 1);
    const auc = scores ? rocAuc(scores, observed, n) : undefined;
    return { accuracy, precision, recall, ...(auc !== undefined ? { rocAuc: auc } : {}) };
  }
  const classes = new Set<number>();
  for (let i = 0; i < n; i++) classes.add(predicted[i]!).add(observed[i]!);
  let precision = 0;
  let recall = 0;
  for (const c of classes) {
    const pr = precisionRecall(predicted, observed, n, c);
    precision += pr.precision;
    recall += pr.recall;
  }
  return { accuracy, precision: precision / classes.size, recall: recall / classes.size };
}

function precisionRecall(predicted: ArrayLike<number>, observed: ArrayLike<number>, n: number, positive: number): { precision: number; recall: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const p = predicted[i] === positive;
    const o = observed[i] === positive;
    if (p && o) tp++;
    else if (p) fp++;
    else if (o) fn++;
  }
  return { precision: tp + fp > 0 ? tp / (tp + fp) : 0, recall: tp + fn > 0 ? tp / (tp + fn) : 0 };
}

/**
 * Area under the ROC curve as the Mann–Whitney U statistic with tied scores at their mean rank:
 * exactly sklearn's `roc_auc_score`. Undefined unless both classes (0 and 1) are observed.
 */
export function rocAuc(scores: ArrayLike<number>, observed: ArrayLike<number>, n: number): number | undefined {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (observed[order[k]!] === 1) {
        positives++;
        rankSum += meanRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function regressionMetrics(predicted: ArrayLike<number>, observed: ArrayLike<number>, n: number): RegressionMetrics | undefined {
  if (n === 0) return undefined;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i]! - observed[i]!;
    abs += Math.abs(e);
    sq += e * e;
  }
  return { mae: abs / n, rmse: Math.sqrt(sq / n) };
}

export interface PerformanceEstimate {
  /** Expected accuracy: the mean probability of the predicted class. */
  readonly accuracy: number;
  /** Standard deviation of the realised accuracy if the probabilities are calibrated: √Σ c(1−c) / n. */
  readonly accuracyStddev: number;
  /** Binary only: from the expected confusion matrix. */
  readonly precision?: number;
  readonly recall?: number;
  readonly rows: number;
}

/**
 * Confidence-based performance estimation (CBPE, as NannyML): with calibrated probabilities,
 * a row predicted as class k is right with probability p_k, so the expected confusion matrix
 * (and accuracy) follow from the probabilities alone, before any label arrives.
 * `confidence` is the predicted class's probability per row; `positive` (binary) the positive
 * class's probability, whose row counts as predicted positive when `predictedPositive`.
 */
export function estimatePerformance(confidence: ArrayLike<number>, n: number, binary?: { readonly positive: ArrayLike<number>; readonly predictedPositive: ArrayLike<number> }): PerformanceEstimate | undefined {
  if (n === 0) return undefined;
  let sum = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const c = confidence[i]!;
    sum += c;
    variance += c * (1 - c);
  }
  const estimate = { accuracy: sum / n, accuracyStddev: Math.sqrt(variance) / n, rows: n };
  if (!binary) return estimate;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const p = binary.positive[i]!;
    if (binary.predictedPositive[i]) {
      tp += p;
      fp += 1 - p;
    } else fn += p;
  }
  return { ...estimate, precision: tp + fp > 0 ? tp / (tp + fp) : 0, recall: tp + fn > 0 ? tp / (tp + fn) : 0 };
}
