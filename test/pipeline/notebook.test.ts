import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlipwayError } from '../../lib/errors.js';
import { detectExecutor, injectParameters, papermillValue, runNotebook } from '../../lib/pipeline/notebook.js';
import { describeWithTools } from '../support/tools.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const jupyterMissing =
  spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel'], { stdio: 'ignore' }).status === 0
    ? undefined
    : `${PYTHON} has no nbconvert/nbclient/ipykernel (Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel; .ci/run installs them)`;

function code(source: string, tags: string[] = []) {
  return { cell_type: 'code', execution_count: null, id: `c${Math.random().toString(36).slice(2, 10)}`, metadata: tags.length ? { tags } : {}, outputs: [], source };
}

function notebook(cells: unknown[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    cells,
  };
}

// Writes what the kernel saw, relative to its working directory.
const REPORT = code('import json, os\njson.dump({"n": n, "rate": rate, "name": name, "flag": flag, "cwd": os.getcwd()}, open("report.json", "w"))\n');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-notebook-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('injectParameters', () => {
  it('adds a cell tagged injected-parameters right after the parameters cell, replacing an earlier one', () => {
    // GIVEN a notebook run once already (papermill left an injected cell)
    const nb = notebook([code('import math'), code('n = 1', ['parameters']), code('# Parameters\nn = 5\n', ['injected-parameters']), code('print(n)')]);
    // WHEN parameters are injected again
    const injected = injectParameters(nb as never, { n: 3, name: 'a "quoted" name', flag: false, nothing: null, big: 1e21 });
    // THEN there is one injected cell, after the parameters cell, in papermill's format
    expect(injected.cells.map((c) => c.metadata?.tags ?? [])).toEqual([[], ['parameters'], ['injected-parameters'], []]);
    expect(injected.cells[2]).toMatchInlineSnapshot(`
      {
        "cell_type": "code",
        "execution_count": null,
        "id": "injected-parameters",
        "metadata": {
          "tags": [
            "injected-parameters",
          ],
        },
        "outputs": [],
        "source": [
          "# Parameters
      ",
          "n = 3
      ",
          "name = "a \\"quoted\\" name"
      ",
          "flag = False
      ",
          "nothing = None
      ",
          "big = 1e+21
      ",
        ],
      }
    `);
  });

  it('puts the cell first when no cell is tagged parameters, as papermill does', () => {
    const injected = injectParameters(notebook([code('print(1)')]) as never, { n: 1 });
    expect(injected.cells[0]!.metadata?.tags).toEqual(['injected-parameters']);
  });
});

describe('papermillValue', () => {
  it("types -p values the way papermill's CLI does", () => {
    expect(['300', '-2', '0.5', '1e-3', 'true', 'False', 'None', 'data/x.csv', '6a'].map(papermillValue)).toEqual([300, -2, 0.5, 0.001, true, false, null, 'data/x.csv', '6a']);
  });
});

describeWithTools('runNotebook with real Jupyter', jupyterMissing, () => {
  it('runs the notebook with the parameters injected, in the notebook directory, and writes the executed notebook', async () => {
    // GIVEN a notebook with defaults in its parameters cell
    const input = join(dir, 'train.ipynb');
    writeFileSync(input, JSON.stringify(notebook([code('n = 1\nrate = 0.1\nname = "default"\nflag = True\n', ['parameters']), REPORT])));
    // WHEN it runs with parameters typed the way the pipeline passes them
    const logs: string[] = [];
    const result = await runNotebook({ notebook: input, output: join(dir, 'out', 'executed.ipynb'), parameters: { n: papermillValue('300'), name: 'fraud "v2"', flag: false }, log: (l) => logs.push(l) });
    // THEN the kernel saw the injected values over the defaults, in the notebook's directory
    expect(result.executor).toBe(await detectExecutor());
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toEqual({ n: 300, rate: 0.1, name: 'fraud "v2"', flag: false, cwd: dir });
    const executed = JSON.parse(readFileSync(result.output, 'utf8')) as { cells: { metadata: { tags?: string[] }; execution_count: number | null }[] };
    expect(executed.cells.map((c) => c.metadata.tags ?? [])).toEqual([['parameters'], ['injected-parameters'], []]);
    expect(executed.cells.every((c) => typeof c.execution_count === 'number')).toBe(true);
  });

  it('fails when a cell raises, naming the notebook and the exception', async () => {
    const input = join(dir, 'broken.ipynb');
    writeFileSync(input, JSON.stringify(notebook([code('x = 1', ['parameters']), code('raise ValueError(f"training data has {x} rows")')])));
    const run = runNotebook({ notebook: input, output: join(dir, 'executed.ipynb'), parameters: { x: 0 } });
    await expect(run).rejects.toMatchObject({ code: 'NOTEBOOK_FAILED' });
    await expect(run).rejects.toThrow(/broken\.ipynb failed under (jupyter|papermill)[\s\S]*ValueError: training data has 0 rows/);
    expect(existsSync(join(dir, 'executed.ipynb'))).toBe(false);
  });

  it("fails when the Python has no Jupyter, naming the Debian packages", async () => {
    const input = join(dir, 'train.ipynb');
    writeFileSync(input, JSON.stringify(notebook([REPORT])));
    // -S: the same interpreter without site packages, as a bare Python is.
    const run = runNotebook({ notebook: input, output: join(dir, 'executed.ipynb'), python: [PYTHON, '-S'] });
    await expect(run).rejects.toMatchObject({ code: 'NOTEBOOK_EXECUTOR_MISSING' });
    await expect(run).rejects.toThrow(/jupyter-nbconvert python3-nbclient python3-ipykernel/);
    await expect(runNotebook({ notebook: input, output: join(dir, 'x.ipynb'), python: [PYTHON, '-S'], executor: 'papermill' })).rejects.toThrow(/papermill is not installed/);
  });
});

describe('runNotebook', () => {
  it('fails when the notebook is missing, not a notebook, or a parameter name is not Python', async () => {
    await expect(runNotebook({ notebook: join(dir, 'nope.ipynb'), output: join(dir, 'o.ipynb') })).rejects.toMatchObject({ code: 'NOTEBOOK_NOT_FOUND', message: expect.stringMatching(/nope\.ipynb: cannot be read \(ENOENT\)/) });
    writeFileSync(join(dir, 'bad.ipynb'), '{"cells": [');
    await expect(runNotebook({ notebook: join(dir, 'bad.ipynb'), output: join(dir, 'o.ipynb') })).rejects.toMatchObject({ code: 'NOTEBOOK_INVALID' });
    const error = await runNotebook({ notebook: join(dir, 'bad.ipynb'), output: join(dir, 'o.ipynb'), parameters: { 'max-depth': 6, ok: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).message).toBe('notebook parameters: "max-depth" is not a Python identifier (letters, digits, _; not starting with a digit)');
  });

  it('fails when the Python does not exist, naming the packages', async () => {
    writeFileSync(join(dir, 'n.ipynb'), JSON.stringify(notebook([])));
    await expect(runNotebook({ notebook: join(dir, 'n.ipynb'), output: join(dir, 'o.ipynb'), python: join(dir, 'no-python') })).rejects.toMatchObject({ code: 'NOTEBOOK_EXECUTOR_MISSING', message: expect.stringMatching(/install the Debian packages python3 jupyter-nbconvert/) });
  });
});
