import type { Gauge, Registry } from 'prom-client';
import { PERFORMANCE_METRICS } from '../../vocabulary/metrics.js';
import type { LivePerformance } from './feedback.js';
import { sharedGauge } from './gauges.js';

const HELP: Record<keyof typeof PERFORMANCE_METRICS, string> = {
  accuracy: 'Share of correct predictions among the labelled rows of the live window (ground-truth feedback).',
  precision: 'Precision over the labelled rows of the live window: of the positive class for binary classifiers, else the macro average.',
  recall: 'Recall over the labelled rows of the live window: of the positive class for binary classifiers, else the macro average.',
  rocAuc: 'Area under the ROC curve over the labelled rows of the live window (binary classifiers, from the positive class probability).',
  mae: 'Mean absolute error over the labelled rows of the live window (regression).',
  rmse: 'Root mean squared error over the labelled rows of the live window (regression).',
  feedbackSamples: 'Labelled rows the live performance metrics cover.',
  feedbackPending: 'Requests whose predictions wait for their ground-truth labels.',
  estimatedAccuracy: 'Accuracy estimated without labels from the predicted probabilities (CBPE), over recent predictions.',
  estimatedAccuracyStddev: 'Standard deviation of the realised accuracy around the CBPE estimate, if the probabilities are calibrated.',
  estimatedPrecision: 'Precision of the positive class estimated without labels (CBPE, binary classifiers).',
  estimatedRecall: 'Recall of the positive class estimated without labels (CBPE, binary classifiers).',
  estimatedSamples: 'Recent predictions the CBPE estimate covers.',
};

/** The live performance gauges of one model version (`model`, `version` labels). */
export class PerformanceGauges {
  private readonly g: Record<keyof typeof PERFORMANCE_METRICS, Gauge>;
  private readonly base: { model: string; version: string };

  constructor(registry: Registry, model: string, version: string) {
    this.base = { model, version };
    const entries = Object.entries(PERFORMANCE_METRICS) as Array<[keyof typeof PERFORMANCE_METRICS, string]>;
    this.g = Object.fromEntries(entries.map(([key, name]) => [key, sharedGauge(registry, name, HELP[key], ['model', 'version'])])) as Record<keyof typeof PERFORMANCE_METRICS, Gauge>;
  }

  publish(p: LivePerformance): void {
    const set = (key: keyof typeof PERFORMANCE_METRICS, value: number | undefined) => {
      if (value === undefined || !Number.isFinite(value)) this.g[key].remove(this.base);
      else this.g[key].set(this.base, value);
    };
    set('feedbackSamples', p.labeled);
    set('feedbackPending', p.pendingRequests);
    set('accuracy', p.classification?.accuracy);
    set('precision', p.classification?.precision);
    set('recall', p.classification?.recall);
    set('rocAuc', p.classification?.rocAuc);
    set('mae', p.regression?.mae);
    set('rmse', p.regression?.rmse);
    set('estimatedAccuracy', p.estimated?.accuracy);
    set('estimatedAccuracyStddev', p.estimated?.accuracyStddev);
    set('estimatedPrecision', p.estimated?.precision);
    set('estimatedRecall', p.estimated?.recall);
    set('estimatedSamples', p.estimated?.rows);
  }

  remove(): void {
    for (const g of Object.values(this.g)) g.remove(this.base);
  }
}
