import { Command } from 'commander';
import { Progress } from '../../compiler/progress.js';
import { SlipwayError } from '../../errors.js';
import { evaluateGates, parseGates } from '../../pipeline/evaluate.js';
import { checkOutputs, layoutImage, readValueFile, recordBuild } from '../../pipeline/package.js';
import { pipelineRelease } from '../../pipeline/release.js';
import { runLocal, type RunReporter, type StepOutcome } from '../../pipeline/local-run.js';
import { report } from '../../pipeline/report.js';
import { parseSignature, smokeTest } from '../../pipeline/smoke-test.js';
import { attestBuild, signModelFolder } from '../../supply-chain/attest.js';
import { attachAttestations } from '../../supply-chain/publish.js';
import { generateKeyPair, loadSigningKey, trustedKeysFrom } from '../../supply-chain/keys.js';
import { TRUSTED_KEYS_ENV } from '../../vocabulary/supply-chain.js';
import { BUILD_TRIGGERS, type BuildTrigger } from '../../vocabulary/build.js';
import { readBuildFile } from '../../compiler/releases.js';
import { registerModelArtifactCommands } from './pipeline-model.js';
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { printResult } from '../config-repo-flags.js';

// The steps of the training pipeline (constructs/training-pipeline.ts) as commands of the
// runtime image: Tekton runs them with exec-style args, so no parameter is ever shell code.

const out = (prefix: string) => (line: string) => process.stdout.write(`${prefix}: ${line}\n`);

function trigger(value: string): BuildTrigger {
  if (!(BUILD_TRIGGERS as readonly string[]).includes(value)) {
    throw new SlipwayError('CLI_INVALID_FLAG', `--trigger: expected one of ${BUILD_TRIGGERS.join(', ')}, got ${JSON.stringify(value)}`, 2);
  }
  return value as BuildTrigger;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1) throw new SlipwayError('CLI_INVALID_FLAG', `--ready-timeout: expected whole seconds >= 1, got ${JSON.stringify(value)}`, 2);
  return n;
}

function collectParam(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new SlipwayError('CLI_INVALID_FLAG', `--param: expected name=value, got ${JSON.stringify(value)}`, 2);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

const seconds1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A redrawn progress line on a terminal; plain lines in CI and pipes. Finished steps always get a line. */
function stepReporter(stream: NodeJS.WriteStream = process.stderr): RunReporter & { close(): void } {
  const live = Boolean(stream.isTTY) && !process.env.CI;
  let current: { name: string; started: number } | undefined;
  const draw = () => current && stream.write(`\r\x1b[K▸ ${current.name} ${seconds1(performance.now() - current.started)}`);
  const timer = live ? setInterval(draw, 250) : undefined;
  timer?.unref();
  const mark: Record<StepOutcome, string> = { succeeded: 'ok', failed: 'FAILED', skipped: 'skipped' };
  return {
    stepStarted(name) {
      current = { name, started: performance.now() };
      if (live) draw();
      else process.stdout.write(`step ${name}: started\n`);
    },
    stepFinished(name, ms, outcome, detail) {
      current = undefined;
      if (live) stream.write('\r\x1b[K');
      process.stdout.write(`step ${name.padEnd(22)} ${mark[outcome].padEnd(7)} ${seconds1(ms).padStart(8)}${detail ? `  ${detail}` : ''}\n`);
    },
    info(line) {
      if (live && current) stream.write('\r\x1b[K');
      process.stdout.write(`${line}\n`);
    },
    close() {
      if (timer) clearInterval(timer);
      if (live && current) stream.write('\r\x1b[K');
    },
  };
}

export function register(program: Command): void {
  const pipeline = program
    .command('pipeline')
    .description('Run a model\'s training pipeline locally (run), or one of its steps as Tekton runs them: check-outputs, train-job, evaluate, package, record-build, smoke-test, release, report; push-model and fetch-model move a model as an OCI artifact.');

  pipeline
    .command('run <model>')
    .description("Run the model's TrainingPipeline from the app on this machine, step by step in Tekton's order, with the same step commands (buildah, podman, Jupyter from Debian).")
    .option('--local', 'run on this machine (the only mode: in a cluster, Tekton runs it)')
    .option('--app <file>', 'app module defining the pipeline', 'apps/main.ts')
    .option('--repo <dir>', 'local config repository the release step records the build in', './config-repo')
    .option('--source <dir|url>', 'training code: a folder (its working tree) or a Git URL; default: the checkout holding the app')
    .option('--revision <rev>', 'branch, tag or commit to fetch with git (a folder too)')
    .option('--param <name=value>', 'pipeline parameter (trigger, version, train-<name> …); repeatable', collectParam, {})
    .option('--env <name>', 'environment to release to; default: the pipeline\'s')
    .option('--registry <host:port>', "push to this registry instead of the image repository's (by the same path), and pull the tested image from it")
    .option('--registry-cert-dir <dir>', 'folder of CA certificates (ca.crt) to trust for --registry')
    .option('--registry-auth-file <file>', 'containers auth file with the credentials for --registry (never a password on the command line)', process.env.REGISTRY_AUTH_FILE)
    .option('--signing-key <file>', 'PEM signing key for a pipeline that signs its builds; default: $SLIPWAY_SIGNING_KEY_FILE')
    .action(async (model: string, flags: { local?: boolean; app: string; repo: string; source?: string; revision?: string; param: Record<string, string>; env?: string; registry?: string; registryCertDir?: string; registryAuthFile?: string; signingKey?: string }) => {
      if (!flags.local) {
        throw new SlipwayError('CLI_INVALID_FLAG', 'slipway pipeline run: pass --local (in a cluster, the TriggerTemplate\'s PipelineRun starts the pipeline)', 2);
      }
      const reporter = stepReporter();
      const abort = new AbortController();
      const interrupt = (signal: NodeJS.Signals) => {
        reporter.info(`${signal}: stopping the run, removing its containers and temporary folders`);
        abort.abort();
      };
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      const started = performance.now();
      try {
        const result = await runLocal({
          model,
          app: flags.app,
          repo: flags.repo,
          ...(flags.source ? { source: flags.source } : {}),
          ...(flags.revision ? { revision: flags.revision } : {}),
          params: flags.param,
          ...(flags.env ? { environment: flags.env } : {}),
          ...(flags.registry
            ? { registry: { host: flags.registry, ...(flags.registryCertDir ? { certDir: flags.registryCertDir } : {}), ...(flags.registryAuthFile ? { authFile: flags.registryAuthFile } : {}) } }
            : {}),
          ...(flags.signingKey ? { signingKeyFile: flags.signingKey } : {}),
          reporter,
          signal: abort.signal,
        });
        reporter.info(`run ${result.runName} succeeded in ${seconds1(performance.now() - started)}`);
        for (const [name, value] of Object.entries(result.results)) reporter.info(`  ${name.padEnd(13)} ${value}`);
        reporter.info(`  logs and outputs: ${result.logDir}`);
      } finally {
        reporter.close();
        process.removeListener('SIGINT', interrupt);
        process.removeListener('SIGTERM', interrupt);
      }
    });

  pipeline
    .command('check-outputs')
    .description('train: fail, naming each file, unless training wrote model.onnx and metrics.json.')
    .requiredOption('--output-dir <dir>', 'folder training wrote into')
    .action((flags: { outputDir: string }) => {
      checkOutputs(flags.outputDir);
      out('train')(`${flags.outputDir} holds model.onnx and metrics.json`);
    });

  pipeline
    .command('train-job')
    .description('train (TrainJob path): create the run\'s Kubeflow Trainer TrainJob, wait for Complete or Failed, print the metrics it wrote.')
    .requiredOption('--manifest <json>', 'the TrainJob, as the pipeline rendered it')
    .requiredOption('--namespace <ns>', 'namespace to create it in')
    .requiredOption('--output-dir <dir>', 'workspace folder the TrainJob writes model.onnx and metrics.json into')
    .option('--source-dir <dir>', 'workspace folder of the checkout (pipeline run --local runs the trainer there)')
    .option('--poll <seconds>', 'seconds between status reads', '10')
    .action(async (flags: { manifest: string; namespace: string; outputDir: string; poll: string }) => {
      const { inClusterApi, runTrainJob } = await import('../../pipeline/train-job.js');
      let manifest: Parameters<typeof runTrainJob>[0]['manifest'];
      try {
        manifest = JSON.parse(flags.manifest) as typeof manifest;
      } catch (err) {
        throw new SlipwayError('CLI_INVALID_FLAG', `--manifest: expected the TrainJob as JSON: ${(err as Error).message}`, 2);
      }
      await runTrainJob({ manifest, namespace: flags.namespace, outputDir: flags.outputDir, api: inClusterApi(), pollMs: Number(flags.poll) * 1000, log: out('train') });
    });

  pipeline
    .command('evaluate')
    .description('evaluate: check the quality gates against metrics.json; exit 1 naming every failed gate.')
    .requiredOption('--metrics <file>', 'metrics.json written by training')
    .option('--gates <json>', 'JSON array of {metric, op, value}', '[]')
    .option('--result <file>', "write the numeric metrics here as compact JSON, and each gated metric beside it as 'metric-<name>'")
    .action((flags: { metrics: string; gates: string; result?: string }) => {
      const result = evaluateGates({ metricsFile: flags.metrics, gates: parseGates(flags.gates), ...(flags.result ? { resultFile: flags.result } : {}) });
      result.lines.forEach(out('evaluate'));
      if (result.failures.length > 0) throw new SlipwayError('PIPELINE_GATE_FAILED', `evaluate: ${result.failures.join('; ')}`);
    });

  pipeline
    .command('package')
    .description('package: lay model.onnx and baseline.json out as the model repository of an image built FROM the runtime image.')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--version <version>', 'model version: the model repository folder')
    .requiredOption('--output-dir <dir>', 'folder holding model.onnx and baseline.json')
    .requiredOption('--context-dir <dir>', 'build context to create (Containerfile + models/)')
    .requiredOption('--runtime-image <image>', 'runtime image to build FROM, pinned by digest')
    .action((flags: { model: string; version: string; outputDir: string; contextDir: string; runtimeImage: string }) => {
      const { files } = layoutImage(flags);
      out('package')(`context ${flags.contextDir} ready: ${files.join(', ')}`);
    });

  pipeline
    .command('record-build')
    .description('package: write build.json for the pushed image (sha256 of its files, digest, lineage), checked against schemas/build.schema.json.')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--version <version>', 'model version')
    .requiredOption('--context-dir <dir>', 'build context written by `slipway pipeline package`')
    .requiredOption('--image-digest-file <file>', "file holding the pushed image's digest (buildah push --digestfile)")
    .requiredOption('--out <file>', 'build.json to write')
    .option('--source-repository <url>', 'Git URL of the training code')
    .option('--commit <sha>', 'commit that was trained')
    .option('--training-data <file>', 'training data file, hashed into trainingDataSha256')
    .option('--metrics <file>', 'metrics.json, recorded as the build metrics')
    .option('--trigger <trigger>', `what started the run: ${BUILD_TRIGGERS.join(', ')}`, trigger)
    .option('--pipeline-run <name>', 'name of the PipelineRun')
    .option('--expected-sha256-out <file>', 'also write the sha256 the runtime must verify (SLIPWAY_EXPECTED_SHA256 JSON)')
    .option('--image-url <repository>', "the image's repository, written to --image-url-out (Tekton Chains' IMAGE_URL type hint)")
    .option('--image-url-out <file>', 'write the image URL (Tekton result IMAGE_URL)')
    .option('--image-digest-out <file>', 'write the image digest (Tekton result IMAGE_DIGEST)')
    .option('--model-location-file <file>', 'file holding the oci:// location push-model wrote: recorded as modelLocation and baselineLocation instead of `image`')
    .action(async (flags: { model: string; version: string; contextDir: string; imageDigestFile: string; out: string; sourceRepository?: string; commit?: string; trainingData?: string; metrics?: string; trigger?: BuildTrigger; pipelineRun?: string; expectedSha256Out?: string; imageUrl?: string; imageUrlOut?: string; imageDigestOut?: string; modelLocationFile?: string }) => {
      const { imageUrl, imageUrlOut, imageDigestOut, modelLocationFile, ...options } = flags;
      const build = await recordBuild({
        ...options,
        imageDigest: readValueFile(flags.imageDigestFile),
        ...(modelLocationFile ? { modelLocation: readValueFile(modelLocationFile) } : {}),
        ...(flags.metrics ? { metricsFile: flags.metrics } : {}),
        builtAt: new Date(),
      });
      // Chains' type hints: Tekton Chains signs and attests IMAGE_URL@IMAGE_DIGEST on a cluster.
      if (imageUrlOut && imageUrl) writeFileSync(imageUrlOut, imageUrl);
      if (imageDigestOut) writeFileSync(imageDigestOut, build.imageDigest);
      out('package')(`${flags.out}: ${build.model} ${build.version}, model sha256 ${build.modelSha256} at ${build.modelLocation}, image ${build.imageDigest}`);
    });

  pipeline
    .command('keygen')
    .description('supply chain: write a new ECDSA P-256 signing key pair (<prefix>.key, mode 0600, and <prefix>.pub); never overwrites.')
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .action((flags: { out: string }) => {
      const key = generateKeyPair(`${flags.out}.key`, `${flags.out}.pub`);
      out('keygen')(`${flags.out}.key (private: keep it in a Secret) and ${flags.out}.pub (public: trust it), key id ${key.keyId}`);
    });

  pipeline
    .command('sign-model')
    .description('package: sign the model folder (model.onnx, baseline.json) as an OpenSSF model_signing manifest, written as model.sig beside them.')
    .requiredOption('--model <name>', 'model name (the signed subject)')
    .requiredOption('--folder <dir>', 'the model version folder of the build context')
    .option('--key <file>', `PEM signing key; default: $${'SLIPWAY_SIGNING_KEY_FILE'} or $${'SLIPWAY_SIGNING_KEY'}`)
    .option('--copy-to <dir>', 'also copy model.sig here (beside build.json, for the release check)')
    .action(async (flags: { model: string; folder: string; key?: string; copyTo?: string }) => {
      const key = loadSigningKey(flags.key);
      const { path, files } = await signModelFolder(flags.model, flags.folder, key);
      if (flags.copyTo) copyFileSync(path, join(flags.copyTo, 'model.sig'));
      out('package')(`${path}: signed ${Object.keys(files).join(', ')} with key ${key.keyId}`);
    });

  pipeline
    .command('attest')
    .description('package: sign the pushed image digest, its SLSA v1 provenance and CycloneDX 1.6 ML-BOM (from build.json), and attach them to the image in the registry.')
    .requiredOption('--build <file>', 'build.json written by record-build; the bundles are written beside it')
    .requiredOption('--image-repository <repository>', 'repository the image was pushed to (no tag, no digest)')
    .option('--key <file>', 'PEM signing key; default: $SLIPWAY_SIGNING_KEY_FILE or $SLIPWAY_SIGNING_KEY')
    .option('--builder-id <uri>', 'SLSA builder id', 'https://slipway.dev/pipeline/local')
    .option('--runtime-image <image>', 'the runtime image the build was built FROM')
    .option('--signature <json>', "the model's signature {inputs, outputs}, described in the ML-BOM's model card")
    .option('--attach', 'attach image.sigstore.json, provenance.sigstore.json, ml-bom.sigstore.json and model.sig to the image as OCI referrers')
    .option('--registry-auth-file <file>', 'containers auth file for --attach', process.env.REGISTRY_AUTH_FILE)
    .option('--registry-cert-dir <dir>', 'folder of CA certificates (ca.crt) to trust for --attach')
    .action(async (flags: { build: string; imageRepository: string; key?: string; builderId: string; runtimeImage?: string; signature?: string; attach?: boolean; registryAuthFile?: string; registryCertDir?: string }) => {
      const key = loadSigningKey(flags.key);
      const build = readBuildFile(flags.build);
      const outDir = dirname(flags.build);
      await attestBuild({
        build,
        key,
        outDir,
        imageRepository: flags.imageRepository,
        builderId: flags.builderId,
        ...(flags.runtimeImage ? { runtimeImage: flags.runtimeImage } : {}),
        ...(flags.signature ? { signature: parseSignature(flags.signature) } : {}),
      });
      out('package')(`signed image ${flags.imageRepository}@${build.imageDigest}, its SLSA provenance and its CycloneDX ML-BOM with key ${key.keyId}`);
      if (flags.attach) {
        const attached = await attachAttestations(flags.imageRepository, build.imageDigest, outDir, { ...(flags.registryAuthFile ? { authFile: flags.registryAuthFile } : {}), ...(flags.registryCertDir ? { certDir: flags.registryCertDir } : {}) });
        out('package')(`attached to ${flags.imageRepository}@${build.imageDigest}: ${attached.map((a) => a.digest).join(', ')}`);
      }
    });

  pipeline
    .command('smoke-test')
    .description('test: wait for the built image to be ready, send one request built from the signature and check the outputs.')
    .requiredOption('--url <url>', 'runtime base URL, e.g. http://127.0.0.1:8080')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--signature <json>', 'JSON {inputs, outputs} of {name, datatype, shape}, -1 for dynamic dimensions')
    .option('--ready-timeout <seconds>', 'how long to wait for readiness', seconds, 120)
    .action(async (flags: { url: string; model: string; signature: string; readyTimeout: number }) => {
      out('test')(await smokeTest({ url: flags.url, model: flags.model, signature: parseSignature(flags.signature), readyTimeoutSeconds: flags.readyTimeout }));
    });

  pipeline
    .command('release')
    .description('release: record build.json in the config repository with `slipway release --build`, and push.')
    .requiredOption('--platform-dir <dir>', 'checkout of the repository holding the slipway app')
    .option('--app <file>', 'app module, relative to --platform-dir', 'apps/main.ts')
    .requiredOption('--repo <dir>', 'checkout of the config repository')
    .requiredOption('--env <name>', 'environment to release to')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--build <file>', 'build.json written by the package step')
    .option('--push [remote]', 'push main to a remote (token from SLIPWAY_GIT_TOKEN)')
    .option('--trusted-keys <file>', `PEM public key(s): refuse the build unless its signatures (beside build.json) verify; default: $${TRUSTED_KEYS_ENV} (PEM)`)
    .action(async (flags: { platformDir: string; app: string; repo: string; env: string; model: string; build: string; push?: string | boolean; trustedKeys?: string }) => {
      const trusted = trustedKeysFrom(flags.trustedKeys);
      const result = await pipelineRelease(
        {
          ...(trusted ? { trustedKeys: trusted } : {}),
          platformDir: flags.platformDir,
          appFile: flags.app,
          repo: flags.repo,
          environment: flags.env,
          model: flags.model,
          buildFile: flags.build,
          progress: new Progress(),
          ...(flags.push ? { push: flags.push === true ? 'origin' : flags.push } : {}),
        },
        out('release'),
      );
      printResult(result);
    });

  pipeline
    .command('report')
    .description('report (finally): print the outcome of every task and record it as an Event on the PipelineRun; never fails.')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--aggregate-status <status>', "Tekton's $(tasks.status)")
    .requiredOption('--task-statuses <json>', 'JSON object of task name to status')
    .requiredOption('--pipeline-run <name>', 'name of the PipelineRun')
    .requiredOption('--pipeline-run-uid <uid>', 'uid of the PipelineRun')
    .requiredOption('--namespace <name>', 'namespace of the PipelineRun')
    .action(async (flags: { model: string; aggregateStatus: string; taskStatuses: string; pipelineRun: string; pipelineRunUid: string; namespace: string }) => {
      await report({ ...flags }, out('report'));
    });

  registerModelArtifactCommands(pipeline);
}
