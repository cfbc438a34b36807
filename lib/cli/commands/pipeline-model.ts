import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { fetchModel, pushModel } from '../../supply-chain/model-artifact.js';
import type { RegistryAccess } from '../../supply-chain/registry.js';

// Models as OCI artifacts (docs/supply-chain.md): push-model in the pipeline, fetch-model in the
// serving pod's init container. Credentials only from the auth file; nothing here prints them.

interface AccessFlags {
  readonly registryAuthFile?: string;
  readonly registryCertDir?: string;
}

const access = (flags: AccessFlags): RegistryAccess => ({
  ...(flags.registryAuthFile ? { authFile: flags.registryAuthFile } : {}),
  ...(flags.registryCertDir ? { certDir: flags.registryCertDir } : {}),
});

const withAccess = (command: Command) =>
  command
    .option('--registry-auth-file <file>', 'containers auth file with the registry credentials (never a password on the command line)', process.env.REGISTRY_AUTH_FILE)
    .option('--registry-cert-dir <dir>', 'folder of CA certificates (ca.crt) to trust for the registry');

export function registerModelArtifactCommands(pipeline: Command): void {
  withAccess(
    pipeline
      .command('push-model')
      .description('package: push the model version folder (model.onnx, baseline.json, model.sig, …) as a CNCF ModelPack OCI artifact, by digest; prints the oci:// modelLocation.')
      .requiredOption('--folder <dir>', 'the model version folder')
      .requiredOption('--repository <repository>', 'registry repository, e.g. registry.example.com/acme/fraud-model (no tag, no digest)')
      .requiredOption('--model <name>', 'model name (the ModelPack descriptor name)')
      .requiredOption('--version <version>', 'model version')
      .option('--location-file <file>', 'also write the oci:// location here (a Tekton result)'),
  ).action(async (flags: AccessFlags & { folder: string; repository: string; model: string; version: string; locationFile?: string }) => {
    const pushed = await pushModel({ dir: flags.folder, repository: flags.repository, model: flags.model, version: flags.version, access: access(flags) });
    if (flags.locationFile) writeFileSync(flags.locationFile, pushed.location);
    process.stdout.write(`package: pushed ${Object.keys(pushed.files).join(', ')} as ${pushed.location}\n`);
  });

  withAccess(
    pipeline
      .command('fetch-model <location>')
      .description('serve: pull an oci://registry/repository@sha256:… ModelPack model into a fresh folder, checking the manifest and every blob against their digests.')
      .requiredOption('--out <dir>', 'folder to create (absent or empty)'),
  ).action(async (location: string, flags: AccessFlags & { out: string }) => {
    const files = await fetchModel(location, flags.out, access(flags));
    process.stdout.write(`fetch-model: ${Object.entries(files).map(([f, sha]) => `${f} sha256 ${sha}`).join(', ')} verified into ${flags.out}\n`);
  });
}
