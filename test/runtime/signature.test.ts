import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { signModelFolder } from '../../lib/supply-chain/attest.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';

// The real example build, signed per test with a throwaway key so each test can tamper with its own copy.
const EXAMPLE = 'examples/model-repository';
const work = mkdtempSync(join(tmpdir(), 'slipway-signature-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const key = generateKeyPair(join(work, 'pipeline.key'), join(work, 'pipeline.pub'));
const other = generateKeyPair(join(work, 'other.key'), join(work, 'other.pub'));
const TRUSTED = readFileSync(join(work, 'pipeline.pub'), 'utf8');

async function signedRepository(name: string, by = key): Promise<{ repo: string; version: string }> {
  const repo = join(work, name);
  cpSync(EXAMPLE, repo, { recursive: true });
  await signModelFolder('fraud-detector', join(repo, 'fraud-detector/1'), by);
  return { repo, version: join(repo, 'fraud-detector/1') };
}

type Event = Record<string, unknown>;

/** `slipway serve` in a child process with SLIPWAY_TRUSTED_KEYS, resolved once it has loaded (or refused) its models. */
async function serveLoaded(repo: string): Promise<{ child: ChildProcess; port: number; events: Event[] }> {
  const child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', repo, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SLIPWAY_TRUSTED_KEYS: TRUSTED },
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

/** Starts the runtime on a repository it must refuse: it stays unready, and the model's error and the log say why. */
async function refusal(repo: string): Promise<{ ready: number; reason: string; events: Event[] }> {
  const { child, port, events } = await serveLoaded(repo);
  try {
    const ready = (await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status;
    const model = (await (await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/ready`)).json()) as { ready: boolean; error: string };
    const refused = events.find((e) => e.event === 'signature_refused');
    expect(model.ready).toBe(false);
    expect(model.error).toContain(String(refused?.reason));
    return { ready, reason: String(refused?.reason ?? ''), events };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('runtime: verify the model signature before serving', () => {
  it('becomes ready when model.sig is by a trusted key and covers model.onnx and baseline.json, and logs it', async () => {
    const { repo } = await signedRepository('ok');
    const { child, port, events } = await serveLoaded(repo);
    try {
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
      const verified = events.filter((e) => e.event === 'signature_verified');
      expect(verified).toHaveLength(1);
      expect(verified[0]).toMatchObject({ model: 'fraud-detector', version: '1', keyId: key.keyId });
      expect((verified[0]!.files as string[]).map((f) => f.split('=')[0])).toEqual(['model.onnx', 'baseline.json']);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('fails when the model is unsigned: stays unready naming the missing model.sig', async () => {
    const repo = join(work, 'unsigned');
    cpSync(EXAMPLE, repo, { recursive: true });
    const { ready, reason } = await refusal(repo);
    expect(ready).toBe(503);
    expect(reason).toMatch(/model\.sig is missing \(ENOENT\): the model is unsigned/);
  });

  it('fails when model.onnx was changed after signing', async () => {
    const { repo, version } = await signedRepository('tampered-model');
    appendFileSync(join(version, 'model.onnx'), '\0');
    const { ready, reason } = await refusal(repo);
    expect(ready).toBe(503);
    expect(reason).toMatch(/model\.onnx: signed sha256 [0-9a-f]{64}, found [0-9a-f]{64}/);
  });

  it('fails when the signed manifest was edited', async () => {
    const { repo, version } = await signedRepository('tampered-manifest');
    const bundle = JSON.parse(readFileSync(join(version, 'model.sig'), 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    statement.predicate.resources[0].digest = '0'.repeat(64);
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeFileSync(join(version, 'model.sig'), JSON.stringify(bundle));
    const { ready, reason } = await refusal(repo);
    expect(ready).toBe(503);
    expect(reason).toMatch(/the signature does not verify/);
  });

  it('fails when another key signed the model', async () => {
    const { repo } = await signedRepository('other-key', other);
    const { ready, reason } = await refusal(repo);
    expect(ready).toBe(503);
    expect(reason).toContain(`signed by key ${other.keyId}, which is not trusted; trusted: ${key.keyId}`);
  });
});
