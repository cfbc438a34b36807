import { SlipwayError } from '../errors.js';

export interface TemplateValues {
  readonly platform: string;
  readonly model: string;
  readonly repoURL: string;
  readonly slipwaySpecifier: string;
  readonly versions: Readonly<Record<string, string>>;
}

/** The files of a new project, by path. */
export function scaffoldFiles(v: TemplateValues): Record<string, string> {
  const version = (name: string) => {
    const found = v.versions[name];
    if (!found) throw new SlipwayError('INTERNAL_ERROR', `slipway's package.json has no version for ${name}`);
    return found;
  };
  const packageJson = {
    name: v.platform,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      // The upgrade check asks the npm registry on every run and prints a stack trace offline.
      synth: 'cdk8s synth --no-check-upgrade',
      start: 'slipway synth --app apps/main.ts --repo ./config-repo',
      test: 'tsc --noEmit && vitest run',
    },
    dependencies: {
      slipway: v.slipwaySpecifier,
      cdk8s: version('cdk8s'),
      'cdk8s-plus-28': version('cdk8s-plus-28'),
      constructs: version('constructs'),
    },
    devDependencies: {
      '@types/node': version('@types/node'),
      'cdk8s-cli': version('cdk8s-cli'),
      tsx: version('tsx'),
      typescript: version('typescript'),
      vitest: version('vitest'),
    },
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    '.gitignore': 'node_modules/\ndist/\nconfig-repo/\n',
    'cdk8s.yaml': 'language: typescript\napp: npx tsx apps/main.ts\noutput: dist\n',
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          resolveJsonModule: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['apps', 'test'],
      },
      null,
      2,
    )}\n`,
    [`apps/models/${v.model}.yaml`]: `# yaml-language-server: $schema=../../node_modules/slipway/schemas/model-deployment.schema.json
# Describe your model here; \`slipway release\` records which build runs in each environment.
name: ${v.model}
version: 0.1.0
owner: ml-team@example.com
artifactUri: s3://models/${v.model}/0.1.0/model.onnx
# sha256sum model.onnx (quoted: an all-digit hash would otherwise read as a YAML number)
artifactSha256: '${'0'.repeat(64)}'
inputs:
  - name: features
    datatype: FP32
    shape: [-1, 4]
outputs:
  - name: probability
    datatype: FP32
    shape: [-1, 2]
# The runtime image the packaging pipeline builds, pinned by digest.
image: ghcr.io/example/${v.model}-runtime@sha256:${'0'.repeat(64)}
environments:
  staging:
    minReplicas: 1
    maxReplicas: 2
  prod:
    minReplicas: 2
    maxReplicas: 6
`,
    'apps/main.ts': `import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { Environment, ModelDeployment, Platform } from 'slipway';

/** The platform: one model in staging and prod. \`slipway synth\` and \`cdk8s synth\` both run it. */
export default function build(app: App): Platform {
  const platform = new Platform(app, '${v.platform}', { repoURL: '${v.repoURL}' });
  for (const name of ['staging', 'prod']) {
    const environment = new Environment(platform, name, { namespace: \`${v.platform}-\${name}\` });
    ModelDeployment.fromFile(environment, fileURLToPath(new URL('./models/${v.model}.yaml', import.meta.url)));
  }
  return platform;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const app = new App();
  build(app);
  app.synth();
}
`,
    'test/main.test.ts': `import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import build from '../apps/main.js';

describe('platform', () => {
  it('deploys ${v.model} to staging and prod with pinned images', () => {
    const app = new App({ outdir: 'dist-test' });
    build(app);
    const objects = app.charts.flatMap((chart) => chart.toJson());
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.namespace)).toEqual(['${v.platform}-staging', '${v.platform}-prod']);
    for (const d of deployments) {
      expect(d.spec.template.spec.containers[0].image).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
  });
});
`,
    'README.md': `# ${v.platform}

ML platform defined with [slipway](https://github.com/slipway-dev/slipway).

\`\`\`sh
npm install
npm test         # type-check and test the platform
npm run synth    # manifests in dist/ (cdk8s synth)
npm start        # compile into ./config-repo, the Git repository Argo CD syncs
\`\`\`

Describe models in \`apps/models/*.yaml\` (or in TypeScript in \`apps/main.ts\`).
`,
  };
}
