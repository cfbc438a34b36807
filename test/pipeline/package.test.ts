import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputs, layoutImage, recordBuild } from '../../lib/pipeline/package.js';
import { readBuildFile } from '../../lib/compiler/releases.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-package-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const RUNTIME = `ghcr.io/acme/slipway-runtime@sha256:${'c'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const sha = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

function trainingOutput(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

describe('slipway pipeline package / record-build', () => {
  it('lays the build out as the image model repository and records it in build.json', async () => {
    // GIVEN what training and profiling wrote
    const output = trainingOutput('run', { 'model.onnx': 'onnx bytes', 'metrics.json': '{"auc":0.93,"note":"x"}', 'baseline.json': '{"features":[]}' });
    const data = join(work, 'train.csv');
    writeFileSync(data, 'a,b\n1,2\n');
    const context = join(work, 'context');
    // WHEN the package step lays out the context and records the pushed image
    const { files } = layoutImage({ model: 'fraud-detector', version: '1.4.0', outputDir: output, contextDir: context, runtimeImage: RUNTIME });
    writeFileSync(join(work, 'digest'), `${DIGEST}\n`);
    const out = join(work, 'build.json');
    await recordBuild({
      model: 'fraud-detector',
      version: '1.4.0',
      contextDir: context,
      imageDigest: readFileSync(join(work, 'digest'), 'utf8'),
      sourceRepository: 'https://github.com/acme/fraud-detector.git',
      commit: 'f'.repeat(40),
      trainingData: data,
      metricsFile: join(output, 'metrics.json'),
      trigger: 'drift',
      pipelineRun: 'fraud-detector-training-x1',
      builtAt: new Date('2026-12-01T08:00:00.123Z'),
      out,
    });
    // THEN the Containerfile copies the model repository into the image location
    expect(files).toEqual(['models/fraud-detector/1.4.0/model.onnx', 'models/fraud-detector/1.4.0/baseline.json']);
    expect(readFileSync(join(context, 'Containerfile'), 'utf8')).toBe(
      `FROM ${RUNTIME}\nCOPY models/ /models/\nENV SLIPWAY_MODEL_REPOSITORY=/models\nLABEL org.opencontainers.image.version="1.4.0" dev.slipway.model="fraud-detector"\n`,
    );
    // AND build.json names exactly those bytes, the image and the lineage, and passes the schema
    expect(readBuildFile(out, { model: 'fraud-detector' })).toEqual({
      model: 'fraud-detector',
      version: '1.4.0',
      modelSha256: sha('onnx bytes'),
      modelLocation: 'image',
      baselineSha256: sha('{"features":[]}'),
      baselineLocation: 'image',
      imageDigest: DIGEST,
      source: { repository: 'https://github.com/acme/fraud-detector.git', commit: 'f'.repeat(40) },
      trainingDataSha256: sha('a,b\n1,2\n'),
      metrics: { auc: 0.93 },
      trigger: 'drift',
      pipelineRun: 'fraud-detector-training-x1',
      builtAt: '2026-12-01T08:00:00Z',
    });
  });

  it('fails when training left no model.onnx or metrics.json, naming both', () => {
    const output = trainingOutput('empty', {});
    expect(() => checkOutputs(output)).toThrow(`the training step did not write ${join(output, 'model.onnx')}, ${join(output, 'metrics.json')}`);
  });

  it('fails when the version cannot name a folder, the digest is not one, or the training data is missing', async () => {
    const output = trainingOutput('ok2', { 'model.onnx': 'x', 'metrics.json': '{}' });
    expect(() => layoutImage({ model: 'm', version: '../1', outputDir: output, contextDir: join(work, 'c2'), runtimeImage: RUNTIME })).toThrow(/version "\.\.\/1" cannot name a model repository folder/);
    layoutImage({ model: 'm', version: '1', outputDir: output, contextDir: join(work, 'c3'), runtimeImage: RUNTIME });
    await expect(recordBuild({ model: 'm', version: '1', contextDir: join(work, 'c3'), imageDigest: 'latest', builtAt: new Date(), out: join(work, 'b.json') })).rejects.toThrow(
      /expected the pushed image's digest as sha256:<64 hex>, got "latest"/,
    );
    await expect(
      recordBuild({ model: 'm', version: '1', contextDir: join(work, 'c3'), imageDigest: DIGEST, trainingData: join(work, 'nope.csv'), builtAt: new Date(), out: join(work, 'b.json') }),
    ).rejects.toThrow(/cannot hash the training data .*nope\.csv: ENOENT/);
  });

  it('fails when the model location push-model left is not a digest-pinned oci:// reference: nothing written', async () => {
    // GIVEN a laid-out build and a location that is a tag (or carries credentials)
    const output = trainingOutput('oci', { 'model.onnx': 'x', 'metrics.json': '{}' });
    layoutImage({ model: 'm', version: '1', outputDir: output, contextDir: join(work, 'c4'), runtimeImage: RUNTIME });
    const out = join(work, 'oci-build.json');
    for (const modelLocation of ['oci://registry.example.com/models/m:1', `oci://user:secret@registry.example.com/models/m@sha256:${'a'.repeat(64)}`]) {
      // WHEN record-build is given it
      const recorded = recordBuild({ model: 'm', version: '1', contextDir: join(work, 'c4'), imageDigest: DIGEST, modelLocation, builtAt: new Date(), out });
      // THEN it is refused, naming the field, and no build.json exists
      await expect(recorded).rejects.toThrow(/\/modelLocation: expected/);
      await expect(recorded).rejects.not.toThrow(/secret/);
      expect(existsSync(out)).toBe(false);
    }
    // AND a digest-pinned one is recorded for the model (the artifact has no baseline here)
    const location = `oci://registry.example.com/models/m@sha256:${'a'.repeat(64)}`;
    await recordBuild({ model: 'm', version: '1', contextDir: join(work, 'c4'), imageDigest: DIGEST, modelLocation: `${location}\n`, builtAt: new Date(), out });
    expect(readBuildFile(out, { model: 'm' })).toMatchObject({ modelLocation: location, imageDigest: DIGEST });
  });
});
