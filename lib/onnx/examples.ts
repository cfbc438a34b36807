import { mlpModel, type DenseLayer, type Mlp } from './builders.js';

/** Feature order of the example fraud detector's `features` input (a team-wide contract). */
export const FRAUD_FEATURES = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'] as const;

// Typical value and spread per feature: the first layer standardises with them.
const CENTER = [80, 12, 0.3, 20, 700, 3];
const SCALE = [150, 7, 0.25, 60, 600, 4];

/**
 * The example tabular model served by `npm run serve`: 6 features → softmax
 * [legit, fraud]. Hand-set weights, not trained, chosen to behave like a
 * plausible fraud model: the fraud probability rises with amount, merchant
 * risk, distance and recent transaction count, rises at night, and falls with
 * account age.
 */
export function fraudDetectorModel(): Mlp {
  // Hidden units: [risk score, late night, early morning, established account].
  const standardised: number[][] = [
    // amount, hour, merchant_risk, distance_km, account_age_days, txn_count_24h
    [1.0, 0, 0.8, 0.6, -0.9, 0.7],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1.0, 0],
  ];
  const hiddenBias = [0, 0, 0, 0];
  // Night units act on raw hours: relu((hour - 21) / 3) and relu((4 - hour) / 3).
  const raw: number[][] = [[], [0, 1 / 3, 0, 0, 0, 0], [0, -1 / 3, 0, 0, 0, 0], []];
  const rawBias = [0, -7, 4 / 3, 0];

  const first = new Float32Array(6 * 4);
  const firstBias = new Float32Array(4);
  for (let unit = 0; unit < 4; unit++) {
    let bias = hiddenBias[unit]! + rawBias[unit]!;
    for (let feature = 0; feature < 6; feature++) {
      const z = standardised[unit]![feature]!;
      const direct = raw[unit]![feature] ?? 0;
      first[feature * 4 + unit] = z / SCALE[feature]! + direct;
      bias -= (z * CENTER[feature]!) / SCALE[feature]!;
    }
    firstBias[unit] = bias;
  }
  // Fraud logit = 1.6·risk + 0.8·late + 0.8·early − 0.5·established − 3, split evenly across
  // the two classes so softmax([−f/2, f/2]) gives P(fraud) = sigmoid(f).
  const fraudWeights = [1.6, 0.8, 0.8, -0.5];
  const fraudBias = -3;
  const second = new Float32Array(4 * 2);
  fraudWeights.forEach((w, unit) => {
    second[unit * 2] = -w / 2;
    second[unit * 2 + 1] = w / 2;
  });
  const layers: DenseLayer[] = [
    { weight: first, bias: firstBias, inputs: 6, outputs: 4 },
    { weight: second, bias: Float32Array.from([-fraudBias / 2, fraudBias / 2]), inputs: 4, outputs: 2 },
  ];
  return mlpModel({ sizes: [6, 4, 2], layers, softmax: true, inputName: 'features', outputName: 'probability' });
}
