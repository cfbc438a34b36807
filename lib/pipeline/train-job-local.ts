import { NOTEBOOK_SCRIPT } from '../../constructs/private/pipeline-scripts.js';
import { SLIPWAY_COMMAND } from '../../constructs/pipeline/steps.js';
import { TRAIN_JOB_MODEL_PATH, TRAIN_JOB_SOURCE_PATH } from '../../constructs/pipeline/train-job.js';
import { SlipwayError } from '../errors.js';

interface StepLike {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  script?: string;
  workingDir?: string;
  env?: Array<{ name: string; value?: string }>;
}

/** The train step on the TrainJob path (`slipway pipeline train-job --manifest …`). */
export function isTrainJobStep(step: StepLike): boolean {
  return JSON.stringify(step.command) === JSON.stringify(SLIPWAY_COMMAND) && step.args?.[0] === 'pipeline' && step.args[1] === 'train-job';
}

/**
 * `pipeline run --local` on the TrainJob path: the trainer's own entry point (image, command,
 * arguments, environment) as one single-node step, with the TrainJob's workspace mounts mapped
 * back to the step's workspace folders. The local runner then runs it as it runs any train step.
 */
export function singleNodeStep<S extends StepLike>(step: S): StepLike {
  const args = step.args ?? [];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0 || args[i + 1] === undefined) throw new SlipwayError('PIPELINE_STEP_UNSUPPORTED', `step ${step.name}: train-job without ${name}; the local runner cannot map its TrainJob`);
    return args[i + 1]!;
  };
  const trainer = (JSON.parse(flag('--manifest')) as { spec: { trainer: { image: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string }> } } }).spec.trainer;
  const sourceDir = flag('--source-dir');
  const outputDir = flag('--output-dir');
  const local = (value: string) => value.replaceAll(TRAIN_JOB_SOURCE_PATH, sourceDir).replaceAll(TRAIN_JOB_MODEL_PATH, outputDir);
  const env = (trainer.env ?? []).map((e) => ({ ...e, ...(e.value !== undefined ? { value: local(e.value) } : {}) }));
  const modelDir = env.find((e) => e.name === 'SLIPWAY_MODEL_DIR')?.value ?? sourceDir;
  const base = { name: step.name, image: trainer.image, env, workingDir: modelDir, args: trainer.args ?? [] };
  if (env.some((e) => e.name === 'NOTEBOOK')) return { ...base, script: NOTEBOOK_SCRIPT };
  // The trainer's command is `sh -c 'cd "$SLIPWAY_MODEL_DIR" && exec "$@"' train <training command>`.
  const command = trainer.command ?? [];
  const training = command[0] === 'sh' && command[1] === '-c' ? command.slice(4) : command;
  return { ...base, command: training.map(local) };
}
