import { describe, expect, it } from 'vitest';
import { FeedbackAccuracy } from '../../../lib/drift/live/feedback.js';

describe('FeedbackAccuracy', () => {
  it('expires waiting predictions by age even when no new prediction arrives', () => {
    // GIVEN predictions that wait at most 60 s
    let now = 0;
    const feedback = new FeedbackAccuracy({ pendingSeconds: 60 }, () => now);
    feedback.recordPredictions('a', ['1']);
    feedback.recordPredictions('b', ['0']);
    // WHEN 61 s pass with no traffic (before: entries only expired when a new prediction came)
    now = 61_000;
    // THEN the late feedback is refused and the sweep frees them
    expect(feedback.recordFeedback('a', '1')).toBe(false);
    feedback.expire();
    expect(feedback.pendingRequests).toBe(0);
    expect(feedback.value).toBeNull();
  });

  it('keeps at most maxPendingRequests, dropping the oldest', () => {
    const feedback = new FeedbackAccuracy({ maxPendingRequests: 2 }, () => 0);
    for (const id of ['a', 'b', 'c']) feedback.recordPredictions(id, ['1']);
    expect(feedback.pendingRequests).toBe(2);
    expect(feedback.recordFeedback('a', '1')).toBe(false);
    expect(feedback.recordFeedback('c', '1')).toBe(true);
    expect(feedback.value).toBe(1);
  });
});
