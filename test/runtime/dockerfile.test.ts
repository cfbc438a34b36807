import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// These checks hold the images to their contract structurally: pinned bases, non-root,
// healthcheck, compiled entry point, no download at start-up, and every RUN line passes
// shellcheck. The CPU image is also built with buildah and run under podman (test/image).
interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line}\n${lines[++i]!}`;
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`line ${start + 1}: not an instruction: ${line}`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  return instructions;
}

function stages(instructions: readonly Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') result.push([]);
    result[result.length - 1]?.push(ins);
  }
  return result;
}

const PINNED = /^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$/;

// The CPU image builds from a context prepared on the host (containers/image-context.sh:
// compiled build/, production node_modules) because build containers cannot reach npm;
// the CUDA image compiles in a build stage from the repository.
const CONTEXT_SCRIPT = 'containers/image-context.sh';
const PREPARED_CONTEXT = ['node_modules', 'build', 'package.json'];
const compiledBy: Record<string, 'context script' | 'build stage'> = { Dockerfile: 'context script', 'Dockerfile.cuda': 'build stage' };

describe.each(['Dockerfile', 'Dockerfile.cuda'])('%s', (file) => {
  const text = readFileSync(file, 'utf8');
  const instructions = parseDockerfile(text);
  const all = stages(instructions);
  const final = all[all.length - 1]!;
  const args = new Map(instructions.filter((i) => i.keyword === 'ARG').map((i) => i.args.split('=') as [string, string]));

  it('builds from images pinned by digest, never :latest', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const stageNames = new Set<string>();
    for (const from of froms) {
      const [image, as, name] = from.args.split(/\s+/);
      const resolved = image!.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args.get(arg) ?? `<unset ${arg}>`);
      if (!stageNames.has(resolved)) expect(resolved, `line ${from.line}`).toMatch(PINNED);
      expect(resolved).not.toMatch(/:latest(@|$)/);
      if (as?.toUpperCase() === 'AS') stageNames.add(name!);
    }
  });

  it(`compiles with tsconfig.build.json (in the ${compiledBy[file]}) and runs the compiled CLI`, () => {
    if (compiledBy[file] === 'build stage') {
      expect(instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(true);
      expect(final.some((i) => i.keyword === 'COPY' && /--from=build \/src\/build build/.test(i.args))).toBe(true);
    } else {
      // the package's own build (scripts/build.mjs: tsc with tsconfig.build.json, schemas, .proto)
      expect(readFileSync(CONTEXT_SCRIPT, 'utf8')).toMatch(/npm run --silent build\ncp -R build "\$out\/build"/);
      expect(final.some((i) => i.keyword === 'COPY' && i.args === 'build build')).toBe(true);
      expect(instructions.some((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args))).toBe(false);
    }
    expect(JSON.parse(final.find((i) => i.keyword === 'ENTRYPOINT')!.args)).toEqual(['node', 'build/lib/cli/main.js']);
    expect(JSON.parse(final.find((i) => i.keyword === 'CMD')!.args)[0]).toBe('serve');
  });

  it('runs as a numeric non-root user and writes nowhere it must own', () => {
    const user = final.filter((i) => i.keyword === 'USER').at(-1)!.args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(final.some((i) => i.keyword === 'COPY' && /--chown/.test(i.args))).toBe(false);
    expect(final.some((i) => i.keyword === 'ENV' && /HOME=\/tmp/.test(i.args))).toBe(true);
    expect(final.some((i) => i.keyword === 'RUN')).toBe(false);
  });

  it('has a HEALTHCHECK on the liveness endpoint', () => {
    const health = final.find((i) => i.keyword === 'HEALTHCHECK');
    expect(health?.args).toMatch(/\/v2\/health\/live/);
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    if (compiledBy[file] === 'context script') {
      const sources = instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
      for (const source of sources) expect(PREPARED_CONTEXT, `${file}: ${source} is not in what ${CONTEXT_SCRIPT} prepares`).toContain(source);
      return;
    }
    const allowed = readFileSync('.dockerignore', 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(source), `${file}:${copy.line} ${source}`).toBe(true);
        expect(allowed, `${file}:${copy.line} ${source} is excluded by .dockerignore`).toContain(source);
      }
    }
  });

  it('has RUN lines that pass shellcheck', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-docker-'));
    try {
      const script = join(dir, 'run.sh');
      writeFileSync(script, `#!/bin/sh\n${instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n')}\n`);
      const check = spawnSync('shellcheck', ['-s', 'sh', script], { encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile.cuda', () => {
  const text = readFileSync('Dockerfile.cuda', 'utf8');
  it('installs the CUDA 12 provider binaries at build time and defaults to cuda', () => {
    expect(text).toMatch(/ENV ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(text).toMatch(/RUN node node_modules\/onnxruntime-node\/script\/install\.js/);
    expect(text).toMatch(/test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/);
    expect(text).toMatch(/SLIPWAY_EXECUTION_PROVIDER=cuda/);
  });
});

describe('the image checks', () => {
  it('fail when a Dockerfile uses :latest or runs as root', () => {
    const bad = parseDockerfile('FROM node:latest\nUSER root\n');
    expect(bad[0]!.args).not.toMatch(PINNED);
    expect(bad[1]!.args).not.toMatch(/^\d+(:\d+)?$/);
  });
});
