import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compile first (a no-op when nothing changed): tests of the package as users get it use build/.
    globalSetup: ['./scripts/build.mjs'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: native onnxruntime sessions and external validators (promtool,
    // kubectl, git) are heavy; forks keep them isolated and bounded.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
