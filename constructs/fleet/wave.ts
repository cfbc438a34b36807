import type { Construct } from 'constructs';
import { Environment, type EnvironmentProps } from '../environment.js';

/**
 * One wave of a {@link Fleet}: an environment named `<fleet>-<wave>` whose release records
 * (`releases/<fleet>-<wave>/<model>.yaml`) say which build its sites run. Advancing a rollout
 * copies the record into the next wave; `slipway release`, `promote`, `rollback` and `history`
 * treat a wave like any environment.
 */
export class FleetWave extends Environment {
  static isFleetWave(x: unknown): x is FleetWave {
    return x instanceof FleetWave;
  }

  constructor(
    scope: Construct,
    id: string,
    props: EnvironmentProps & { readonly name: string },
    readonly fleet: string,
    readonly wave: string,
  ) {
    super(scope, id, props);
  }
}
