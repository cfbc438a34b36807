import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { FileHashes, parseExpectedSha256, verifySources } from '../../lib/runtime/integrity.js';
import { scanRepository } from '../../lib/runtime/repository.js';

// The real example build (model.onnx + baseline.json), copied so each test can tamper with its own.
const EXAMPLE = 'examples/model-repository';
const work = mkdtempSync(join(tmpdir(), 'slipway-integrity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const MODEL_SHA = sha256(join(EXAMPLE, 'fraud-detector/1/model.onnx'));
const BASELINE_SHA = sha256(join(EXAMPLE, 'fraud-detector/1/baseline.json'));
const expected = JSON.stringify({ 'fraud-detector': { 'model.onnx': MODEL_SHA, 'baseline.json': BASELINE_SHA } });

function repository(name: string): string {
  const dir = join(work, name);
  cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

type Event = Record<string, unknown>;

/** `slipway serve` in a child process, resolved once it has loaded (or refused) its models. */
async function serveLoaded(repo: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number; events: Event[] }> {
  const child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', repo, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const events: Event[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as Event;
      events.push(event);
      if (event.event === 'models_loaded') resolve(events.find((e) => e.event === 'server_listening')!.port as number);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { child, port, events };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('runtime integrity: the runtime serves only the released build', () => {
  it('becomes ready when model and baseline match the expected sha256', async () => {
    // GIVEN the files of the build and their real hashes, as the pod hands them over
    const { child, port, events } = await serveLoaded(repository('ok'), { SLIPWAY_EXPECTED_SHA256: expected });
    try {
      // THEN both files are verified and the runtime is ready
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
      expect(events.filter((e) => e.event === 'integrity_verified').map((e) => [String(e.file).split('/').pop(), e.sha256])).toEqual([
        ['model.onnx', MODEL_SHA],
        ['baseline.json', BASELINE_SHA],
      ]);
    } finally {
      await stop(child);
    }
  });

  for (const file of ['model.onnx', 'baseline.json'] as const) {
    it(`refuses to become ready when ${file} was tampered with, naming the file, the expected and the actual hash`, async () => {
      // GIVEN a repository whose ${file} is not the released one
      const repo = repository(`tampered-${file}`);
      const path = join(repo, 'fraud-detector/1', file);
      appendFileSync(path, file.endsWith('.json') ? ' ' : '\0');
      const actual = sha256(path);
      const want = file === 'model.onnx' ? MODEL_SHA : BASELINE_SHA;
      // WHEN the runtime starts with the build's hashes
      const { child, port, events } = await serveLoaded(repo, { SLIPWAY_EXPECTED_SHA256: expected });
      try {
        // THEN it stays live but never ready, and says why
        expect((await fetch(`http://127.0.0.1:${port}/v2/health/live`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(503);
        const model = (await (await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/ready`)).json()) as { ready: boolean; error: string };
        expect(model.ready).toBe(false);
        expect(model.error).toContain(`${path}: sha256 mismatch: expected ${want}, got ${actual}`);
        expect(events).toContainEqual(expect.objectContaining({ level: 'error', event: 'integrity_mismatch', file: path, expected: want, actual }));
        const infer = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
          method: 'POST',
          body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: [60, 14, 0.2, 5, 900, 2] }] }),
        });
        expect(infer.status).toBe(503);
      } finally {
        await stop(child);
      }
    });
  }

  it('refuses a model swapped on disk and reloaded through the repository extension', async () => {
    // GIVEN a runtime serving the verified build
    const repo = repository('reloaded');
    const { child, port } = await serveLoaded(repo, { SLIPWAY_EXPECTED_SHA256: expected });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
      // WHEN model.onnx is replaced and the model is reloaded (POST /v2/repository/models/{name}/load)
      const path = join(repo, 'fraud-detector/1/model.onnx');
      appendFileSync(path, '\0');
      const load = await fetch(`http://127.0.0.1:${port}/v2/repository/models/fraud-detector/load`, { method: 'POST' });
      // THEN the load is refused with the mismatch and the runtime is no longer ready
      expect(load.status).toBe(400);
      expect(((await load.json()) as { error: string }).error).toContain(`${path}: sha256 mismatch: expected ${MODEL_SHA}, got ${sha256(path)}`);
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(503);
    } finally {
      await stop(child);
    }
  });

  it('fails when an expected baseline is missing from the repository', async () => {
    const repo = repository('no-baseline');
    rmSync(join(repo, 'fraud-detector/1/baseline.json'));
    const sources = await scanRepository(repo);
    await verifySources(sources, parseExpectedSha256(expected, 'test'), new MemoryLogger());
    expect(sources[0]!.problem).toBe(`refused: not the released build: baseline.json is missing beside ${join(repo, 'fraud-detector/1/model.onnx')} (expected sha256 ${BASELINE_SHA})`);
  });

  it('fails to start when the expected hashes name a model the repository does not serve, or are malformed', () => {
    const run = (value: string) =>
      spawnSync(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', EXAMPLE, '--port', '0'], {
        encoding: 'utf8',
        env: { ...process.env, SLIPWAY_EXPECTED_SHA256: value },
        timeout: 20_000,
      });
    const missing = run(JSON.stringify({ 'credit-scorer': { 'model.onnx': MODEL_SHA } }));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('slipway: expected sha256 for "credit-scorer", but the repository serves "fraud-detector"');
    const malformed = run(JSON.stringify({ 'fraud-detector': { 'model.onnx': 'ABC', 'weights.bin': MODEL_SHA } }));
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain('/fraud-detector/model.onnx: expected 64 lower-case hex digits, got "ABC"; /fraud-detector/weights.bin: expected one of model.onnx, baseline.json');
  });
});

describe('file hashes within one verification pass', () => {
  it('hashes a file once per pass, and again in the next pass (the file may have changed since)', async () => {
    // GIVEN a copy of the example baseline
    const dir = mkdtempSync(join(work, 'hashes-'));
    const file = join(dir, 'baseline.json');
    cpSync(join(EXAMPLE, 'fraud-detector/1/baseline.json'), file);
    // WHEN one pass asks twice (the sha256 check, then the signature check)
    const pass = new FileHashes();
    const first = pass.of(file);
    // THEN both get the same hash from one read
    expect(pass.of(file)).toBe(first);
    expect(await first).toBe(BASELINE_SHA);
    // AND a later pass reads the file as it is then
    appendFileSync(file, '\n');
    expect(await pass.of(file)).toBe(BASELINE_SHA);
    expect(await new FileHashes().of(file)).toBe(sha256(file));
    expect(sha256(file)).not.toBe(BASELINE_SHA);
  });
});
