// npm run bench:serve -- --many-models   (or: tsx bench/many-models.ts)
//
// A thousand models on one server: the ONNX backend-test models Debian ships (libonnx-testdata),
// each a model directory of one repository, served by the compiled CLI (build/, rebuilt first).
// Baseline, measured in the same run: onnxruntime-node creating the same sessions in this process,
// one after another, with the session options the server uses. Reported: time until every model
// has loaded (the server's models_loaded) against the baseline, load time per model, and idle RSS
// per model (the server's RSS with every model loaded, less its RSS with none loaded: the same
// repository under --model-control-mode explicit). The machine may be shared: baseline and server
// are measured in interleaved rounds and each one's best round is reported, as bench/serve.ts
// does for its rows.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';
import { defaultThreadPlan } from '../lib/runtime/cpu.js';
import { sessionOptions } from '../lib/runtime/session-options.js';

const TESTDATA = '/usr/share/libonnx-testdata/data';

export interface ManyModelsResult {
  models: number;
  rounds: number;
  baseline: { seconds: number; loaded: number; failed: number; rssMiB: number };
  server: { seconds: number; loadSeconds: number; loaded: number; failed: number; rssMiB: number; emptyRssMiB: number };
}

/** Every backend-test model.onnx, named by its directory (the category prefixes a name seen twice). */
function testModels(): Array<{ name: string; path: string }> {
  const found: Array<{ name: string; path: string }> = [];
  const seen = new Set<string>();
  for (const category of readdirSync(TESTDATA).sort()) {
    for (const dir of readdirSync(join(TESTDATA, category)).sort()) {
      const path = join(TESTDATA, category, dir, 'model.onnx');
      if (!existsSync(path)) continue;
      const name = seen.has(dir) ? `${category}.${dir}` : dir;
      seen.add(name);
      found.push({ name, path });
    }
  }
  return found;
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

interface Started {
  child: ChildProcess;
  /** Seconds from spawn to server_listening and to models_loaded. */
  listening: number;
  loaded: number;
  ready: string[];
  failed: string[];
}

function startServer(args: string[]): Promise<Started> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['build/lib/cli/main.js', 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let listening = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: { event?: string; ready?: string[]; failed?: string[] };
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.event === 'server_listening') listening = (performance.now() - started) / 1000;
      if (event.event === 'models_loaded') resolve({ child, listening, loaded: (performance.now() - started) / 1000, ready: event.ready ?? [], failed: event.failed ?? [] });
    });
    child.once('exit', (code) => reject(new Error(`slipway serve exited with ${code} before its models loaded`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Idle RSS settles a moment after loading (worker threads finish starting). */
const settle = () => new Promise((r) => setTimeout(r, 1_000));

export async function benchManyModels(root: string, rounds = 3): Promise<ManyModelsResult> {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const models = testModels();
  const repository = join(root, 'repository');
  rmSync(root, { recursive: true, force: true });
  for (const model of models) {
    mkdirSync(join(repository, model.name, '1'), { recursive: true });
    symlinkSync(model.path, join(repository, model.name, '1', 'model.onnx'));
  }

  const plan = defaultThreadPlan();
  const options = sessionOptions({ kind: 'load', modelPath: '', logId: 'bench', provider: 'cpu', cudaDeviceId: 0, intraOpThreads: plan.intraOpThreads }, 'cpu');
  ort.env.logLevel = 'fatal';
  let baseline: ManyModelsResult['baseline'] | undefined;
  let full: { started: Started; rssMiB: number } | undefined;
  for (let round = 0; round < rounds; round++) {
    // Baseline: the same sessions, created here one after another, kept (as the server keeps them).
    const rssBefore = rssMiB(process.pid);
    const sessions: ort.InferenceSession[] = [];
    let failed = 0;
    const began = performance.now();
    for (const model of models) {
      try {
        sessions.push(await ort.InferenceSession.create(model.path, options));
      } catch {
        failed++;
      }
    }
    const seconds = (performance.now() - began) / 1000;
    await settle();
    const rss = rssMiB(process.pid) - rssBefore;
    for (const session of sessions) await session.release();
    // RSS from the first round only: later rounds reuse what the allocator kept from the first.
    if (!baseline || seconds < baseline.seconds) baseline = { seconds, loaded: sessions.length, failed, rssMiB: baseline?.rssMiB ?? rss };

    const started = await startServer(['--model-repository', repository, '--port', '0']);
    await settle();
    const rssNow = rssMiB(started.child.pid!);
    await stop(started.child);
    if (!full || started.loaded < full.started.loaded) full = { started, rssMiB: rssNow };
  }
  // The server with nothing loaded (explicit model control): the base its per-model RSS is measured from.
  const empty = await startServer(['--model-repository', repository, '--port', '0', '--model-control-mode', 'explicit']);
  await settle();
  const emptyRss = rssMiB(empty.child.pid!);
  await stop(empty.child);
  rmSync(root, { recursive: true, force: true });
  return {
    models: models.length,
    rounds,
    baseline: baseline!,
    server: {
      seconds: full!.started.loaded,
      loadSeconds: full!.started.loaded - full!.started.listening,
      loaded: full!.started.ready.length,
      failed: full!.started.failed.length,
      rssMiB: full!.rssMiB,
      emptyRssMiB: emptyRss,
    },
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function printManyModels(r: ManyModelsResult): void {
  const ratio = r.server.seconds / r.baseline.seconds;
  const perModelKiB = ((r.server.rssMiB - r.server.emptyRssMiB) * 1024) / Math.max(1, r.server.loaded);
  process.stdout.write(`\nMany models: the ${fmt(r.models)} ONNX backend-test models (Debian libonnx-testdata), one repository; best of ${r.rounds} interleaved rounds each:\n\n`);
  process.stdout.write('| loader | loaded | failed to load | seconds | ms per model | vs in-process | RSS MiB | idle RSS per model |\n|---|---|---|---|---|---|---|---|\n');
  process.stdout.write(
    `| onnxruntime-node in-process, sequential (baseline) | ${r.baseline.loaded} | ${r.baseline.failed} | ${fmt(r.baseline.seconds, 2)} | ${fmt((r.baseline.seconds * 1000) / r.models, 2)} | 1.00× | +${fmt(r.baseline.rssMiB, 1)} | ${fmt((r.baseline.rssMiB * 1024) / Math.max(1, r.baseline.loaded), 1)} KiB |\n`,
  );
  process.stdout.write(
    `| slipway serve (compiled CLI), spawn → models_loaded | ${r.server.loaded} | ${r.server.failed} | ${fmt(r.server.seconds, 2)} | ${fmt((r.server.loadSeconds * 1000) / r.models, 2)} | ${fmt(ratio, 2)}× | ${fmt(r.server.rssMiB, 1)} (${fmt(r.server.emptyRssMiB, 1)} with none loaded) | ${fmt(perModelKiB, 1)} KiB |\n`,
  );
  process.stdout.write(
    '\nms per model: the server\'s is from server_listening to models_loaded. Failed to load: models onnxruntime refuses; the server also refuses models whose inputs or outputs the protocol cannot carry (sequences, maps, optional types, bfloat16, float8), which load in-process.\n',
  );
  process.stdout.write(`\n| target | measured | met |\n|---|---|---|\n| ${fmt(r.models)} models load under the compiled CLI in ≤ 2× in-process sequential session creation | ${fmt(ratio, 2)}× | ${ratio <= 2 ? 'yes' : 'NO'} |\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printManyModels(await benchManyModels(join(process.cwd(), '.bench', 'many-models')));
}
