import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Yaml } from 'cdk8s';
import type { Manifest } from './synth.js';

export interface LintProblem {
  readonly rule: string;
  readonly level: 'error' | 'warning';
  readonly message: string;
}

const require = createRequire(import.meta.url);
const LINT_CLI = join(dirname(require.resolve('@ibm/tekton-lint/package.json')), 'dist', 'lint.js');

/** Lints the manifests together with tekton-lint's default rules; returns every problem. */
export function tektonLint(manifests: readonly Manifest[]): LintProblem[] {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-tekton-lint-'));
  try {
    // An empty cache keeps external tasks a user may have cached out of the lint.
    mkdirSync(join(dir, 'cache'));
    writeFileSync(join(dir, 'pipeline.yaml'), Yaml.stringify(...manifests));
    const run = spawnSync(process.execPath, [LINT_CLI, '--format', 'json', '--config', dir, 'pipeline.yaml'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, TL_CACHE_DIR: join(dir, 'cache') },
    });
    const out = run.stdout.trim();
    if (!out.startsWith('[')) throw new Error(`tekton-lint failed (exit ${run.status}): ${run.stderr}${out}`);
    return (JSON.parse(out) as LintProblem[]).map(({ rule, level, message }) => ({ rule, level, message }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A spec is walked as free-form JSON: only strings matter for references.
type Json = unknown;

function strings(node: Json, visit: (value: string, path: string) => void, path = ''): void {
  if (typeof node === 'string') visit(node, path);
  else if (Array.isArray(node)) node.forEach((n, i) => strings(n, visit, `${path}[${i}]`));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) strings(v, visit, `${path}.${k}`);
}

function refs(value: string, pattern: RegExp): string[][] {
  return [...value.matchAll(pattern)].map((m) => m.slice(1));
}

const names = (list: Array<{ name: string }> | undefined) => new Set((list ?? []).map((x) => x.name));

const CONTEXT_VARIABLES = new Set([
  'context.pipelineRun.name',
  'context.pipelineRun.namespace',
  'context.pipelineRun.uid',
  'context.pipeline.name',
  'context.taskRun.name',
  'context.taskRun.namespace',
  'context.taskRun.uid',
  'context.task.name',
  'context.task.retry-count',
]);

/**
 * Checks every reference tekton-lint leaves alone or checks only in part: `$(workspaces.x.path)`
 * and `$(results.x.path)` in Tasks, `$(tasks.t.results.r)` and `$(tasks.t.status)` in Pipelines,
 * params and workspaces a pipeline task passes against the Task's declarations, TriggerTemplate
 * PipelineRuns against their Pipeline, and EventListener triggers against bindings and templates.
 */
export function tektonReferenceProblems(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => new Map(manifests.filter((m) => m.kind === kind).map((m) => [m.metadata.name, m]));
  const tasks = byKind('Task');
  const pipelines = byKind('Pipeline');
  const templates = byKind('TriggerTemplate');
  const bindings = byKind('TriggerBinding');

  for (const [name, task] of tasks) {
    const spec = task.spec;
    const params = names(spec.params);
    const workspaces = names(spec.workspaces);
    const results = names(spec.results);
    strings(spec, (value, path) => {
      for (const [p] of refs(value, /\$\(params\.([^)]+)\)/g)) if (!params.has(p!)) problems.push(`Task ${name} ${path}: param "${p}" is not declared`);
      for (const [w] of refs(value, /\$\(workspaces\.([^.)]+)\.path\)/g)) if (!workspaces.has(w!)) problems.push(`Task ${name} ${path}: workspace "${w}" is not declared`);
      for (const [r] of refs(value, /\$\(results\.([^.)]+)\.path\)/g)) if (!results.has(r!)) problems.push(`Task ${name} ${path}: result "${r}" is not declared`);
      for (const [c] of refs(value, /\$\((context\.[^)]+)\)/g)) if (!CONTEXT_VARIABLES.has(c!)) problems.push(`Task ${name} ${path}: "${c}" is not a Tekton context variable`);
    });
  }

  for (const [name, pipeline] of pipelines) {
    const spec = pipeline.spec;
    const params = names(spec.params);
    const workspaces = names(spec.workspaces);
    const dag = new Map<string, any>((spec.tasks ?? []).map((t: any) => [t.name, t]));
    const all = [...(spec.tasks ?? []), ...(spec.finally ?? [])];
    const upstream = (taskName: string, seen = new Set<string>()): Set<string> => {
      for (const before of dag.get(taskName)?.runAfter ?? []) {
        if (!seen.has(before)) {
          seen.add(before);
          upstream(before, seen);
        }
      }
      return seen;
    };
    for (const pt of all) {
      const isFinally = (spec.finally ?? []).includes(pt);
      const task = tasks.get(pt.taskRef?.name);
      if (!task) {
        problems.push(`Pipeline ${name} task ${pt.name}: Task "${pt.taskRef?.name}" does not exist`);
        continue;
      }
      const declared = task.spec.params ?? [];
      const given = names(pt.params);
      for (const p of declared) if (p.default === undefined && !given.has(p.name)) problems.push(`Pipeline ${name} task ${pt.name}: required param "${p.name}" is not passed`);
      for (const p of given) if (!names(declared).has(p)) problems.push(`Pipeline ${name} task ${pt.name}: param "${p}" is not declared by ${task.metadata.name}`);
      const taskWorkspaces = task.spec.workspaces ?? [];
      const bound = new Map<string, string>((pt.workspaces ?? []).map((w: any) => [w.name, w.workspace]));
      for (const w of taskWorkspaces) if (!w.optional && !bound.has(w.name)) problems.push(`Pipeline ${name} task ${pt.name}: workspace "${w.name}" is not bound`);
      for (const [w, target] of bound) {
        if (!names(taskWorkspaces).has(w)) problems.push(`Pipeline ${name} task ${pt.name}: workspace "${w}" is not declared by ${task.metadata.name}`);
        if (!workspaces.has(target)) problems.push(`Pipeline ${name} task ${pt.name}: pipeline workspace "${target}" is not declared`);
      }
      const before = isFinally ? new Set(dag.keys()) : upstream(pt.name);
      strings(pt, (value, path) => {
        for (const [p] of refs(value, /\$\(params\.([^)]+)\)/g)) if (!params.has(p!)) problems.push(`Pipeline ${name} task ${pt.name}${path}: param "${p}" is not declared`);
        for (const [t, r] of refs(value, /\$\(tasks\.([^.)]+)\.results\.([^.)]+)\)/g)) {
          const producer = dag.get(t!);
          const producerTask = producer && tasks.get(producer.taskRef.name);
          if (!producerTask || !names(producerTask.spec.results).has(r!)) problems.push(`Pipeline ${name} task ${pt.name}${path}: result "${t}.${r}" does not exist`);
          else if (!before.has(t!)) problems.push(`Pipeline ${name} task ${pt.name}${path}: uses "${t}.${r}" but does not run after ${t}`);
        }
        for (const [t] of refs(value, /\$\(tasks\.([^.)]+)\.status\)/g)) {
          if (!isFinally) problems.push(`Pipeline ${name} task ${pt.name}${path}: task status is only visible to finally tasks`);
          if (!dag.has(t!)) problems.push(`Pipeline ${name} task ${pt.name}${path}: status of unknown task "${t}"`);
        }
      });
    }
    strings(spec.results ?? [], (value, path) => {
      for (const [t, r] of refs(value, /\$\(tasks\.([^.)]+)\.results\.([^.)]+)\)/g)) {
        const producerTask = dag.has(t!) && tasks.get(dag.get(t!).taskRef.name);
        if (!producerTask || !names(producerTask.spec.results).has(r!)) problems.push(`Pipeline ${name} results${path}: result "${t}.${r}" does not exist`);
      }
    });
  }

  for (const [name, template] of templates) {
    const params = names(template.spec.params);
    strings(template.spec.resourcetemplates, (value, path) => {
      for (const [p] of refs(value, /\$\(tt\.params\.([^)]+)\)/g)) if (!params.has(p!)) problems.push(`TriggerTemplate ${name} ${path}: param "${p}" is not declared`);
    });
    for (const run of template.spec.resourcetemplates as any[]) {
      const pipeline = pipelines.get(run.spec.pipelineRef?.name);
      if (!pipeline) {
        problems.push(`TriggerTemplate ${name}: Pipeline "${run.spec.pipelineRef?.name}" does not exist`);
        continue;
      }
      const given = names(run.spec.params);
      for (const p of pipeline.spec.params ?? []) if (p.default === undefined && !given.has(p.name)) problems.push(`TriggerTemplate ${name}: required pipeline param "${p.name}" is not passed`);
      for (const p of given) if (!names(pipeline.spec.params).has(p)) problems.push(`TriggerTemplate ${name}: param "${p}" is not declared by Pipeline ${pipeline.metadata.name}`);
      const bound = names(run.spec.workspaces);
      for (const w of pipeline.spec.workspaces ?? []) if (!w.optional && !bound.has(w.name)) problems.push(`TriggerTemplate ${name}: workspace "${w.name}" is not bound`);
      for (const w of bound) if (!names(pipeline.spec.workspaces).has(w)) problems.push(`TriggerTemplate ${name}: workspace "${w}" is not declared by the Pipeline`);
      const pipelineTasks = names(pipeline.spec.tasks);
      for (const s of run.spec.taskRunSpecs ?? []) if (!pipelineTasks.has(s.pipelineTaskName)) problems.push(`TriggerTemplate ${name}: taskRunSpecs names unknown task "${s.pipelineTaskName}"`);
    }
  }

  for (const [name, listener] of byKind('EventListener')) {
    for (const trigger of listener.spec.triggers) {
      const template = templates.get(trigger.template?.ref);
      if (!template) {
        problems.push(`EventListener ${name} trigger ${trigger.name}: TriggerTemplate "${trigger.template?.ref}" does not exist`);
        continue;
      }
      const provided = new Set<string>();
      for (const b of trigger.bindings) {
        if ('ref' in b) {
          const binding = bindings.get(b.ref);
          if (!binding) problems.push(`EventListener ${name} trigger ${trigger.name}: TriggerBinding "${b.ref}" does not exist`);
          for (const p of binding?.spec.params ?? []) provided.add(p.name);
        } else provided.add(b.name);
      }
      const declared = names(template.spec.params);
      for (const p of provided) if (!declared.has(p)) problems.push(`EventListener ${name} trigger ${trigger.name}: binding param "${p}" is not a param of ${template.metadata.name}`);
      for (const p of template.spec.params) if (p.default === undefined && !provided.has(p.name)) problems.push(`EventListener ${name} trigger ${trigger.name}: template param "${p.name}" is not bound`);
    }
  }
  return problems;
}

/** Every embedded step script with where it comes from. */
export function stepScripts(manifests: readonly Manifest[]): Array<{ where: string; script: string }> {
  return manifests
    .filter((m) => m.kind === 'Task')
    .flatMap((task) => (task.spec.steps as Array<{ name: string; script?: string }>).filter((s) => s.script).map((s) => ({ where: `${task.metadata.name}/${s.name}`, script: s.script! })));
}
