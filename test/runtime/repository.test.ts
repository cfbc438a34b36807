import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SlipwayError } from '../../lib/errors.js';
import { compareVersions, parseModelFlag, scanRepository } from '../../lib/runtime/repository.js';
import { collectSources } from '../../lib/runtime/serve.js';

let root: string;
function layout(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'slipway-layout-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('scanRepository', () => {
  it('serves the highest numeric version that has a model, with its baseline and config', async () => {
    // GIVEN versions 1, 2, 10 (10 sorts first numerically, last as text) and an empty version 11
    const dir = layout({
      'fraud/1/model.onnx': 'a',
      'fraud/2/model.onnx': 'b',
      'fraud/10/model.onnx': 'c',
      'fraud/10/baseline.json': '{}',
      'fraud/10/config.json': '{"batching": {"maxBatchSize": 8}}',
      'fraud/11/README': 'no model yet',
      'fraud/config.json': '{"executionProvider": "cuda"}',
    });
    const [source] = await scanRepository(dir);
    expect(source).toMatchObject({
      name: 'fraud', version: '10', modelPath: join(dir, 'fraud/10/model.onnx'), baselinePath: join(dir, 'fraud/10/baseline.json'),
      configPath: join(dir, 'fraud/10/config.json'),
      config: { batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 0 }, cudaDeviceId: 0 },
    });
    expect(source!.config.executionProvider).toBeUndefined();
    expect(source!.problem).toBeUndefined();
  });

  it('orders dotted versions segment by segment: numerically where both are digits, else as text', () => {
    const versions = ['1.10.0', '2', '1', '1.9.2', '10', '1.3.0-rc1', '1.3.0', '1.3', 'v2', '9'];
    expect([...versions].sort(compareVersions)).toEqual(['1', '1.3', '1.3.0', '1.3.0-rc1', '1.9.2', '1.10.0', '2', '9', '10', 'v2']);
    expect(compareVersions('12345678901234567890', '12345678901234567891')).toBeLessThan(0);
    expect(compareVersions('1.0', '1.0')).toBe(0);
  });

  it('serves the highest dotted version (ModelServing writes /mnt/models/<name>/<version>)', async () => {
    // GIVEN versions that sort differently as text, and a higher one that has no model yet
    const dir = layout({
      'fraud/1.9.2/model.onnx': 'a',
      'fraud/1.10.0/model.onnx': 'b',
      'fraud/1.10.0/baseline.json': '{}',
      'fraud/1/model.onnx': 'c',
      'fraud/1.11.0/README': 'uploading',
      'fraud/.staging/model.onnx': 'ignored: not a version name',
    });
    const [source] = await scanRepository(dir);
    expect(source).toMatchObject({ name: 'fraud', version: '1.10.0', modelPath: join(dir, 'fraud/1.10.0/model.onnx'), baselinePath: join(dir, 'fraud/1.10.0/baseline.json') });
    expect(source!.problem).toBeUndefined();
  });

  it('reads the flat layout as version 1 and a model-level config for versioned models', async () => {
    const dir = layout({
      'flat/model.onnx': 'x',
      'flat/baseline.json': '{}',
      'nested/3/model.onnx': 'y',
      'nested/config.json': '{"executionProvider": "cuda", "intraOpThreads": 2}',
      '.hidden/1/model.onnx': 'ignored',
      'README.md': 'not a model',
    });
    const sources = await scanRepository(dir);
    expect(sources.map((s) => [s.name, s.version])).toEqual([['flat', '1'], ['nested', '3']]);
    expect(sources[0]!.baselinePath).toBe(join(dir, 'flat/baseline.json'));
    expect(sources[1]!.config).toMatchObject({ executionProvider: 'cuda', intraOpThreads: 2 });
  });

  it('marks a model without model.onnx as a problem instead of failing the repository', async () => {
    const dir = layout({ 'empty/1/notes.txt': '', 'ok/model.onnx': 'x' });
    const sources = await scanRepository(dir);
    expect(sources.find((s) => s.name === 'empty')!.problem).toBe(
      `no model found: expected ${join(dir, 'empty', '<version>', 'model.onnx')} or ${join(dir, 'empty', 'model.onnx')}`,
    );
    expect(sources.find((s) => s.name === 'ok')!.problem).toBeUndefined();
  });

  it('fails when a config.json is not valid JSON, naming file, line and column', async () => {
    const dir = layout({ 'm/1/model.onnx': 'x', 'm/1/config.json': '{\n  "batching": {\n    "maxBatchSize": 4,\n  }\n}' });
    const [source] = await scanRepository(dir);
    expect(source!.problem).toBe(`${join(dir, 'm/1/config.json')} at line 4, column 3: invalid JSON: expected a string key`);
  });

  it.each([
    ['{"batching": {"maxBatchSize": 0}}', 'batching.maxBatchSize: must be >= 1, got 0'],
    ['{"batching": {"maxQueueDelayMs": "5"}}', 'batching.maxQueueDelayMs: must be number, got "5"'],
    ['{"executionProvider": "tpu"}', 'executionProvider: expected one of "cpu", "cuda", got "tpu"'],
    ['{"inlineComputeBelowMs": 100}', 'inlineComputeBelowMs: must be <= 50, got 100'],
    ['{"threads": 4}', '(top level): unknown field "threads", got {"threads":4}'],
    ['[]', '(top level): must be object, got []'],
  ])('fails when config.json is %s, saying field, expected and got', async (config, message) => {
    const dir = layout({ 'm/1/model.onnx': 'x', 'm/1/config.json': config });
    const [source] = await scanRepository(dir);
    expect(source!.problem).toBe(`${join(dir, 'm/1/config.json')}: ${message}`);
  });

  it('fails when the repository is not a directory', async () => {
    const dir = layout({});
    await expect(scanRepository(join(dir, 'missing'))).rejects.toMatchObject({
      code: 'RUNTIME_REPOSITORY_NOT_FOUND', exitCode: 2, message: `model repository ${join(dir, 'missing')}: not a directory`,
    });
  });

  it('fails only the entry whose directory name is not usable in a URL', async () => {
    const dir = layout({ 'bad name/1/model.onnx': 'x', 'good/1/model.onnx': 'x' });
    const sources = await scanRepository(dir);
    expect(sources.map((s) => [s.name, s.problem])).toEqual([
      ['bad name', `directory "bad name" in model repository ${dir} is not a valid model name (expected letters, digits, '_', '.', '-', starting with a letter or digit; at most 128)`],
      ['good', undefined],
    ]);
  });
});

describe('--model and source collection', () => {
  it('parses NAME=PATH', () => {
    expect(parseModelFlag('fraud=./m.onnx')).toMatchObject({ name: 'fraud', version: '1', modelPath: join(process.cwd(), 'm.onnx') });
  });

  it.each(['fraud', '=m.onnx', 'bad name=m.onnx', 'fraud='])('fails when --model is %s', (flag) => {
    expect(() => parseModelFlag(flag)).toThrow(new SlipwayError('RUNTIME_MODEL_FLAG_INVALID', `--model ${flag}: expected NAME=PATH.onnx with NAME made of letters, digits, '_', '.', '-'`, 2));
  });

  it('fails when there is nothing to serve or a name is taken twice', async () => {
    await expect(collectSources(undefined, [])).rejects.toThrow(/nothing to serve: pass --model-repository DIR/);
    const dir = layout({ 'fraud/1/model.onnx': 'x' });
    await expect(collectSources(dir, ['fraud=other.onnx'])).rejects.toThrow('--model fraud=other.onnx: a model named "fraud" is already in the repository');
  });
});
