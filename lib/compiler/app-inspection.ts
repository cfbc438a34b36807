import type { App } from 'cdk8s';
import { Environment } from '../../constructs/environment.js';
import { Model, type TensorSpec } from '../../constructs/model.js';
import { ModelServing } from '../../constructs/model-serving.js';

/** What governance needs from the constructs: approval policies and the models' props. */
export interface AppFacts {
  readonly environments: ReadonlyMap<string, ApprovalPolicy>;
  /** By `<environment>/<model>`. */
  readonly models: ReadonlyMap<string, ModelFacts>;
}

export interface ApprovalPolicy {
  readonly requireApproval: boolean;
  /** Who may approve; undefined: anyone. */
  readonly approvers?: readonly string[];
}

export interface ModelFacts {
  readonly name: string;
  readonly owner: string;
  readonly description?: string;
  readonly format: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly labels: Readonly<Record<string, string>>;
  /** Its serving pod verifies model signatures (ModelServing.trustedKeys). */
  readonly verifiesSignatures?: boolean;
}

/**
 * Reads environments and models from the construct tree of the apps the compile step built
 * (with the release records as context); it already reported any construct error.
 */
export function inspectApp(apps: readonly App[]): AppFacts {
  const environments = new Map<string, ApprovalPolicy>();
  const models = new Map<string, ModelFacts>();
  const verifying = new Set<string>();
  for (const c of apps.flatMap((app) => app.node.findAll())) {
    if (c instanceof ModelServing && c.resolved.trustedKeys !== undefined) {
      const env = Environment.tryOf(c);
      if (env) verifying.add(`${env.name}/${c.model.name}`);
    }
    if (c instanceof Environment) {
      environments.set(c.name, { requireApproval: c.requireApproval, ...(c.approvers ? { approvers: c.approvers } : {}) });
    } else if (c instanceof Model) {
      const env = Environment.tryOf(c);
      if (!env) continue;
      models.set(`${env.name}/${c.name}`, {
        name: c.name,
        owner: c.owner,
        ...(c.description ? { description: c.description } : {}),
        format: c.format,
        inputs: c.inputs,
        outputs: c.outputs,
        labels: c.labels,
      });
    }
  }
  for (const key of verifying) {
    const facts = models.get(key);
    if (facts) models.set(key, { ...facts, verifiesSignatures: true });
  }
  return { environments, models };
}
