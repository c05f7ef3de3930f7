import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // ONNX Runtime and ffmpeg already use both cores; test files run one at a time.
    fileParallelism: false,
    pool: 'forks',
    // Leak checks call global.gc(), which exists only with --expose-gc.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    globalSetup: ['test/support/global-setup.ts'],
  },
});
