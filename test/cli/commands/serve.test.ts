import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The real CLI in a child process: flags, env fallbacks, exit codes and messages as a user sees them.
function slipway(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/slipway.mjs', 'serve', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('slipway serve flags', () => {
  it('fails when there is nothing to serve', () => {
    const run = slipway([], { SLIPWAY_MODEL_REPOSITORY: '' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('slipway: nothing to serve: pass --model-repository DIR (or SLIPWAY_MODEL_REPOSITORY) or --model NAME=PATH.onnx');
  });

  it('fails when the repository from the environment is missing', () => {
    const run = slipway([], { SLIPWAY_MODEL_REPOSITORY: '/nonexistent/models' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('slipway: model repository /nonexistent/models: not a directory');
  });

  it('fails when a port is not an integer in range, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--port', 'eighty']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --port: expected an integer from 0 to 65535, got "eighty"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_METRICS_PORT: '70000' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --metrics-port: expected an integer from 0 to 65535, got "70000"');
  });

  it('fails when the execution provider is unknown', () => {
    const run = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_EXECUTION_PROVIDER: 'tpu' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("option '--execution-provider <provider>' value 'tpu' from env 'SLIPWAY_EXECUTION_PROVIDER' is invalid. Allowed choices are cpu, cuda.");
  });
});
