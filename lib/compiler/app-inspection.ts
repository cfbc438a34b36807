import { Environment } from '../../constructs/environment.js';
import { Model, type TensorSpec } from '../../constructs/model.js';
import type { Release } from '../../constructs/release.js';
import type { AppBuilder } from './app-loader.js';

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
}

/**
 * Builds the app once more with `releases` as context and reads environments and models
 * from the construct tree. Only release operations pay for it; the compile step already
 * reported any construct error.
 */
export async function inspectApp(build: AppBuilder, releases: readonly Release[]): Promise<AppFacts> {
  const apps = await build(releases);
  const environments = new Map<string, ApprovalPolicy>();
  const models = new Map<string, ModelFacts>();
  for (const c of apps.flatMap((app) => app.node.findAll())) {
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
  return { environments, models };
}
