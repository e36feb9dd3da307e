import { defineConfig } from 'vitest/config';

/**
 * One configuration for every test. Tests start real servers (PostgreSQL, Prometheus, the AWS emulator),
 * so files run in at most two forked workers on the two-core test machine, with timeouts sized for a
 * server start rather than for pure functions, and no retries: a flaky test is a defect to fix.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    retry: 0,
    globalSetup: ['test/helpers/global-setup.ts'],
    // The AWS SDK warns on every worker that Node 20 support ends; the project already targets Node 22.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
