import { describe, expect, it } from 'vitest';
import { exec } from '../../lib/pipeline/podman.js';

// runLikeCluster runs for real against the built runtime image in test/image/runtime-image.test.ts
// (where that image is built once per run).
describe('exec', () => {
  it('fails when the tool is not installed, naming its Debian package', async () => {
    const previous = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(exec('buildah', ['version'])).rejects.toMatchObject({ code: 'PIPELINE_TOOL_MISSING', message: 'buildah is not installed; install the Debian package buildah' });
    } finally {
      process.env.PATH = previous;
    }
  });

  it('fails when the tool fails, quoting its stderr', async () => {
    await expect(exec('sh', ['-c', 'echo "no such image: x" >&2; exit 125'])).rejects.toMatchObject({ code: 'CONTAINER_FAILED', message: 'sh -c echo "no such image: x" >&2; exit 125 failed: no such image: x' });
  });
});
