import type { Command } from 'commander';
import { initProject } from '../../scaffold/init.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('Scaffold a new slipway project (package.json, cdk8s.yaml, apps/main.ts with one ModelDeployment, a spec file, a test).')
    .argument('[dir]', 'folder of the new project (new or empty)', '.')
    .option('--platform <name>', 'platform name (Argo CD AppProject); default: the folder name')
    .option('--model <name>', 'name of the example model', 'my-model')
    .option('--repo-url <url>', 'Git URL of the config repository Argo CD syncs')
    .option('--slipway-from <path>', 'depend on slipway as file:<path> (a checkout or an npm pack tarball); default: this checkout when run from one, else the published version range')
    .action(async (dir: string, flags: { platform?: string; model: string; repoUrl?: string; slipwayFrom?: string }) => {
      const result = await initProject({
        dir,
        model: flags.model,
        ...(flags.platform ? { platform: flags.platform } : {}),
        ...(flags.repoUrl ? { repoURL: flags.repoUrl } : {}),
        ...(flags.slipwayFrom ? { slipwayFrom: flags.slipwayFrom } : {}),
      });
      // A checkout dependency is a link to its folder: the package entry points need its build/.
      const build = result.unbuiltCheckout ? `  npm --prefix ${result.unbuiltCheckout} run build\n` : '';
      process.stdout.write(
        `Created ${result.dir} (slipway: ${result.slipwaySpecifier}):\n${result.files.map((f) => `  ${f}`).join('\n')}\n\nNext:\n${build}  cd ${dir}\n  npm install\n  npm test\n  npm run synth\n`,
      );
    });
}
