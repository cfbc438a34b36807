import { describe, expect, it } from 'vitest';
import { decide, liveMetric } from '../../lib/compiler/challenger.js';

describe('champion/challenger decision', () => {
  it('promotes a challenger that beats the champion by more than the margin over enough labels', () => {
    const verdict = decide('auc', { version: '1.3.0', value: 0.8, samples: 1000 }, { value: 0.86, samples: 900 }, { margin: 0.05 });
    expect(verdict.wins).toBe(true);
    expect(verdict.decision).toEqual({ replaced: '1.3.0', metric: 'auc', champion: 0.8, challenger: 0.86, margin: 0.05, samples: { champion: 1000, challenger: 900 } });
  });

  it('reads errors the other way round: a lower RMSE wins', () => {
    expect(decide('rmse', { version: '1', value: 2, samples: 500 }, { value: 1.5, samples: 500 }, { margin: 0.1 }).wins).toBe(true);
    expect(decide('rmse', { version: '1', value: 2, samples: 500 }, { value: 2.5, samples: 500 }, { margin: 0.1 }).wins).toBe(false);
  });

  it('keeps the champion on a tie within the margin or too few labels, saying which', () => {
    expect(decide('accuracy', { version: '1', value: 0.9, samples: 1000 }, { value: 0.905, samples: 1000 }).reason).toBe(
      'the challenger does not beat the champion by the margin: accuracy champion 0.9 (1000 labels), challenger 0.905 (1000 labels), margin 0.01',
    );
    expect(decide('accuracy', { version: '1', value: 0.5, samples: 1000 }, { value: 0.99, samples: 150 }).reason).toMatch(/^too few labels \(at least 200 each\)/);
  });

  it('fails when the metric is not measured live', () => {
    expect(() => liveMetric('recall_at_1pct_fpr')).toThrow(/--metric: expected a metric the runtime measures live \(accuracy, precision, recall, auc, roc_auc, mae, rmse\), got "recall_at_1pct_fpr"/);
  });
});
