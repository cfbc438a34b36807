// RSS of `slipway serve` after a burst of huge batches, with onnxruntime's CPU memory arena on,
// off, and auto (the default: off for a model after its first huge batch): part of npm run bench:serve.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ArenaRow {
  arena: 'on' | 'off' | 'auto';
  idleMiB: number;
  peakMiB: number;
  afterMiB: number;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Three requests of `rows` rows to `model` (input width `inputs`, binary tensors), then RSS 2 s later. */
export async function arenaRss(repository: string, model: string, inputs: number, rows: number): Promise<ArenaRow[]> {
  const x = new Float32Array(rows * inputs).fill(0.01);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, inputs], parameters: { binary_data_size: x.byteLength } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  const body = Buffer.concat([header, Buffer.from(x.buffer)]);
  const result: ArenaRow[] = [];
  for (const arena of ['on', 'off', 'auto'] as const) {
    const child = spawn(process.execPath, ['build/lib/cli/main.js', 'serve', '--model-repository', repository, '--port', '0', '--cpu-mem-arena', arena], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let listening = 0;
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const event = JSON.parse(line) as { event: string; port?: number };
          if (event.event === 'server_listening') listening = event.port!;
          if (event.event === 'models_loaded') resolve(listening);
        });
        child.once('exit', (code) => reject(new Error(`slipway serve exited with ${code}`)));
      });
      const idleMiB = rssMiB(child.pid!);
      let peakMiB = idleMiB;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/v2/models/${model}/infer`, { method: 'POST', body, headers: { 'inference-header-content-length': String(header.length) } });
        if (res.status !== 200) throw new Error(`huge batch answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        peakMiB = Math.max(peakMiB, rssMiB(child.pid!));
      }
      await new Promise((r) => setTimeout(r, 2_000));
      result.push({ arena, idleMiB, peakMiB, afterMiB: rssMiB(child.pid!) });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  return result;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function printArena(rows: readonly ArenaRow[], label: string): void {
  process.stdout.write(`\nRSS after a burst of huge batches (${label}, three requests), onnxruntime CPU arena on, off and auto (the default):\n\n| --cpu-mem-arena | idle MiB | after the batches MiB | 2 s later MiB |\n|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.arena} | ${fmt(r.idleMiB)} | ${fmt(r.peakMiB)} | ${fmt(r.afterMiB)} |\n`);
}
