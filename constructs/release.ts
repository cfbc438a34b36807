import type { IConstruct } from 'constructs';
import type { Release } from '../lib/vocabulary/build.js';

export type { ArtifactLocation, BuildRecord, BuildSource, BuildTrigger, Release } from '../lib/vocabulary/build.js';

/** Context key under which `slipway synth` hands the release records to the app. */
export const RELEASES_CONTEXT_KEY = 'slipway:releases';

/**
 * The release of `model` in `environment` recorded in the app's context, if any. TypeScript says
 * *what* runs; the release (one build, recorded for an environment) says *which build*.
 */
export function findRelease(scope: IConstruct, environment: string, model: string): Release | undefined {
  const releases = scope.node.tryGetContext(RELEASES_CONTEXT_KEY) as readonly Release[] | undefined;
  return releases?.find((r) => r.environment === environment && r.model === model);
}
