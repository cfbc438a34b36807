import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { App } from 'cdk8s';
import { Environment } from '../../constructs/environment.js';
import { Model, type TensorSpec } from '../../constructs/model.js';
import { RELEASES_CONTEXT_KEY, type Release } from '../../constructs/release.js';

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

type Build = (app: App) => unknown;

/**
 * Builds the app once more with `releases` as context and reads environments and models
 * from the construct tree. Only release operations pay for it; the compile step already
 * reported any construct error.
 */
export function inspectApp(build: Build, releases: readonly Release[]): AppFacts {
  const app = new App({ outdir: join(tmpdir(), 'slipway-unused-outdir') });
  app.node.setContext(RELEASES_CONTEXT_KEY, releases);
  build(app);
  const environments = new Map<string, ApprovalPolicy>();
  const models = new Map<string, ModelFacts>();
  for (const c of app.node.findAll()) {
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
