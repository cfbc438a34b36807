import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';

/**
 * Runs a training notebook headless, the way the Tekton step does: papermill where it is
 * installed, otherwise Jupyter's own executor (nbconvert on nbclient) with the parameters
 * injected exactly where papermill puts them, so the same notebook runs under both.
 */

/** A parameter value as the pipeline passes it (strings, typed the way papermill's `-p` types them). */
export type NotebookParameter = string | number | boolean | null;

export type NotebookExecutor = 'papermill' | 'jupyter';

export interface RunNotebookOptions {
  /** The notebook to run (.ipynb, nbformat 4). */
  readonly notebook: string;
  /** Where the executed notebook is written. */
  readonly output: string;
  /** Values for the notebook's `parameters` cell. @default {} */
  readonly parameters?: Readonly<Record<string, NotebookParameter>>;
  /** The kernel's working directory (papermill's --cwd). @default the notebook's directory */
  readonly cwd?: string;
  /** Longest a single cell may run. @default 3600 */
  readonly cellTimeoutSeconds?: number;
  /**
   * The Python that runs the executor and whose `python3` kernel runs the notebook.
   * A command and its leading arguments.
   * @default Debian's /usr/bin/python3 where it exists, else python3 on PATH
   */
  readonly python?: string | readonly string[];
  /** papermill or Jupyter; absent: papermill when installed, else Jupyter. */
  readonly executor?: NotebookExecutor;
  /** Receives the executor's log output, line by line. */
  readonly log?: (line: string) => void;
  /** Stops the executor and its kernel (Ctrl-C of a local pipeline run). */
  readonly signal?: AbortSignal;
}

export interface NotebookRunResult {
  readonly executor: NotebookExecutor;
  readonly output: string;
  readonly durationMs: number;
}

/** The tag papermill gives the cell it adds after the `parameters` cell. */
export const INJECTED_PARAMETERS_TAG = 'injected-parameters';
export const PARAMETERS_TAG = 'parameters';

const JUPYTER_PACKAGES = 'jupyter-nbconvert python3-nbclient python3-ipykernel';

interface Cell {
  cell_type: string;
  id?: string;
  metadata?: { tags?: string[]; [key: string]: unknown };
  source: string | string[];
  [key: string]: unknown;
}

interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

function defaultPython(): string[] {
  return [existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'];
}

/**
 * Types a value the way papermill's `-p NAME VALUE` does, so `-p n_estimators 300` is the int
 * 300 under both executors: True/true, False/false, None, integers and floats, else a string.
 */
export function papermillValue(raw: string): NotebookParameter {
  if (raw === 'True' || raw === 'true') return true;
  if (raw === 'False' || raw === 'false') return false;
  if (raw === 'None') return null;
  if (/^[-+]?\d+$/.test(raw)) return Number(raw);
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw) || /^[-+]?(inf|nan)$/i.test(raw)) return Number(raw.replace(/^([-+]?)inf$/i, '$1Infinity'));
  return raw;
}

function pythonLiteral(value: NotebookParameter): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return "float('nan')";
    if (!Number.isFinite(value)) return value > 0 ? "float('inf')" : "float('-inf')";
    return String(value);
  }
  // A JSON string is a valid Python string literal (same escapes).
  return JSON.stringify(value);
}

function checkParameters(parameters: Readonly<Record<string, NotebookParameter>>): void {
  const problems = Object.entries(parameters).flatMap(([name, value]) => {
    const out: string[] = [];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) out.push(`"${name}" is not a Python identifier (letters, digits, _; not starting with a digit)`);
    if (!(value === null || ['string', 'number', 'boolean'].includes(typeof value))) out.push(`"${name}": expected a string, number, boolean or null, got ${typeof value}`);
    return out;
  });
  if (problems.length > 0) throw new SlipwayError('NOTEBOOK_PARAMETER_INVALID', `notebook parameters: ${problems.join('; ')}`);
}

function tagsOf(cell: Cell): string[] {
  return Array.isArray(cell.metadata?.tags) ? cell.metadata.tags : [];
}

/**
 * Papermill's injection: drops an earlier injected cell, then adds a code cell tagged
 * `injected-parameters` right after the cell tagged `parameters` (at the top when none is).
 */
export function injectParameters(notebook: Notebook, parameters: Readonly<Record<string, NotebookParameter>>): Notebook {
  const cells = notebook.cells.filter((cell) => !tagsOf(cell).includes(INJECTED_PARAMETERS_TAG));
  const lines = Object.entries(parameters).map(([name, value]) => `${name} = ${pythonLiteral(value)}\n`);
  const injected: Cell = {
    cell_type: 'code',
    execution_count: null,
    id: INJECTED_PARAMETERS_TAG,
    metadata: { tags: [INJECTED_PARAMETERS_TAG] },
    outputs: [],
    source: ['# Parameters\n', ...lines],
  };
  const at = cells.findIndex((cell) => tagsOf(cell).includes(PARAMETERS_TAG));
  cells.splice(at + 1, 0, injected);
  return { ...notebook, cells };
}

async function readNotebook(path: string): Promise<Notebook> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SlipwayError('NOTEBOOK_NOT_FOUND', `notebook ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let parsed: Partial<Notebook>;
  try {
    parsed = JSON.parse(text) as Partial<Notebook>;
  } catch (err) {
    throw new SlipwayError('NOTEBOOK_INVALID', `notebook ${path}: not JSON (${(err as Error).message}); expected an .ipynb file`);
  }
  if (parsed.nbformat !== 4 || !Array.isArray(parsed.cells)) {
    throw new SlipwayError('NOTEBOOK_INVALID', `notebook ${path}: expected nbformat 4 with a cells array, got nbformat ${JSON.stringify(parsed.nbformat)}`);
  }
  return parsed as Notebook;
}

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: readonly string[], options: { cwd?: string; stdin?: string; log?: (line: string) => void; signal?: AbortSignal }): Promise<Exited> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: options.cwd,
      // The kernel's debugger warns about frozen modules on every start; it is noise in step logs.
      env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so an abort stops the kernel the executor started too.
      detached: options.signal !== undefined,
    });
    const onAbort = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    const stdout: Buffer[] = [];
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr += text;
      if (!options.log) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) options.log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial && options.log) options.log(partial);
      resolvePromise({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

async function canImport(python: readonly string[], modules: readonly string[]): Promise<boolean> {
  try {
    return (await run([...python, '-c', modules.map((m) => `import ${m}`).join('; ')], {})).code === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlipwayError('NOTEBOOK_EXECUTOR_MISSING', `notebook: Python ${python[0]} is not installed; install the Debian packages python3 ${JUPYTER_PACKAGES} (or papermill)`);
    }
    throw err;
  }
}

/** Which executor runs notebooks with this Python: papermill first, then Jupyter's own. */
export async function detectExecutor(python: readonly string[] = defaultPython()): Promise<NotebookExecutor> {
  if (await canImport(python, ['papermill'])) return 'papermill';
  if (await canImport(python, ['nbconvert', 'nbclient', 'ipykernel'])) return 'jupyter';
  throw new SlipwayError(
    'NOTEBOOK_EXECUTOR_MISSING',
    `notebook: neither papermill nor Jupyter's executor is installed for ${python.join(' ')}; install the Debian packages ${JUPYTER_PACKAGES} (or pip install papermill)`,
  );
}

function failure(notebook: string, executor: NotebookExecutor, exited: Exited): SlipwayError {
  // Both executors end their stderr with the failing cell's exception; that is what a reader needs.
  const tail = exited.stderr.trim().split('\n').slice(-30).join('\n');
  return new SlipwayError('NOTEBOOK_FAILED', `notebook ${notebook} failed under ${executor} (exit ${exited.code}):\n${tail}`);
}

export async function runNotebook(options: RunNotebookOptions): Promise<NotebookRunResult> {
  const started = performance.now();
  const notebookPath = resolve(options.notebook);
  const output = resolve(options.output);
  const parameters = options.parameters ?? {};
  checkParameters(parameters);
  const notebook = await readNotebook(notebookPath);
  const python = options.python === undefined ? defaultPython() : typeof options.python === 'string' ? [options.python] : [...options.python];
  const cwd = resolve(options.cwd ?? dirname(notebookPath));
  const timeout = options.cellTimeoutSeconds ?? 3600;
  const executor = options.executor ?? (await detectExecutor(python));
  await mkdir(dirname(output), { recursive: true });

  if (executor === 'papermill') {
    if (!(await canImport(python, ['papermill']))) {
      throw new SlipwayError('NOTEBOOK_EXECUTOR_MISSING', `notebook: papermill is not installed for ${python.join(' ')}; pip install papermill, or use Jupyter's executor (Debian packages ${JUPYTER_PACKAGES})`);
    }
    // YAML is a superset of JSON: typed values reach papermill as they are.
    const exited = await run([...python, '-m', 'papermill', notebookPath, output, '--cwd', cwd, '--execution-timeout', String(timeout), '--log-output', '-y', JSON.stringify(parameters)], { cwd, ...(options.log ? { log: options.log } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (options.signal?.aborted) throw new SlipwayError('PIPELINE_INTERRUPTED', 'interrupted', 130);
    if (exited.code !== 0) throw failure(options.notebook, executor, exited);
  } else {
    if (!(await canImport(python, ['nbconvert', 'nbclient', 'ipykernel']))) {
      throw new SlipwayError('NOTEBOOK_EXECUTOR_MISSING', `notebook: Jupyter's executor is not installed for ${python.join(' ')}; install the Debian packages ${JUPYTER_PACKAGES}`);
    }
    // From stdin, nbconvert starts the kernel in its own working directory: ours is the notebook's cwd.
    const exited = await run(
      [...python, '-m', 'nbconvert', '--to', 'notebook', '--execute', '--stdin', '--stdout', `--ExecutePreprocessor.timeout=${timeout}`, '--ExecutePreprocessor.kernel_name=python3'],
      { cwd, stdin: JSON.stringify(injectParameters(notebook, parameters)), ...(options.log ? { log: options.log } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
    if (options.signal?.aborted) throw new SlipwayError('PIPELINE_INTERRUPTED', 'interrupted', 130);
    if (exited.code !== 0) throw failure(options.notebook, executor, exited);
    await writeFile(output, exited.stdout);
  }
  return { executor, output, durationMs: performance.now() - started };
}
