import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server, workflow bundle and migrated SQLite template per run, made by the
    // first file that needs them and shared through the run's directory (test/helpers/run.ts).
    globalSetup: ['test/setup/run.ts'],
    // Integration and end-to-end suites start real servers (Temporal, charon): give them room and
    // keep files from starving each other on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
    // The AWS SDK warns on every client that future releases need Node 22; we pin the SDK.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
