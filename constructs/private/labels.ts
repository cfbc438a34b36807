/** The component of a model's deployment an object belongs to (`app.kubernetes.io/component`). */
export type Component = 'serving' | 'monitoring' | 'pipeline';

export interface LabelSource {
  readonly name: string;
  readonly instance: string;
  readonly version: string;
  readonly partOf: string;
}

/** Labels that select a model's pods: stable across versions, so a new build rolls in place. */
export function selectorLabels(source: LabelSource): Record<string, string> {
  return {
    'app.kubernetes.io/name': source.name,
    'app.kubernetes.io/instance': source.instance,
  };
}

/** The recommended `app.kubernetes.io/*` labels every object carries. */
export function recommendedLabels(source: LabelSource, component: Component): Record<string, string> {
  return {
    ...selectorLabels(source),
    'app.kubernetes.io/version': source.version,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': source.partOf,
    'app.kubernetes.io/managed-by': 'slipway',
  };
}
