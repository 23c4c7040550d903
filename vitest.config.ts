import { defineConfig } from 'vitest/config';
import { SlowFirst } from './test/setup/sequencer';

/**
 * Files that run one at a time, after the rest: they build network namespaces and run charon as
 * root (real tunnels whose timers and userspace ESP want the CPU), or assert on timing.
 */
const SERIAL = [
  'test/e2e/**/*.test.ts',
  'test/integration/netns.test.ts',
  'test/integration/vici.test.ts',
  'test/failure/controllers-down.test.ts',
  'test/failure/agent-offline-restart.test.ts',
  'test/failure/worker-resume.test.ts',
  'test/integration/pacer.test.ts',
  'test/browser/**/*.test.ts',
  'test/containers/**/*.test.ts',
];

/** Files side by side in the parallel group (TEST_WORKERS overrides; each file is its own process). */
const WORKERS = Number(process.env.TEST_WORKERS) || 3;

export default defineConfig({
  test: {
    // Integration and end-to-end suites start real servers (Temporal, charon): give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One Temporal dev server, workflow bundle and migrated SQLite template per run, made by the
    // first file that needs them and shared through the run's directory (test/helpers/run.ts);
    // each file works in a Temporal namespace and a database of its own, so files run side by side.
    globalSetup: ['test/setup/run.ts'],
    // The Temporal SDK logs at ERROR in every file that loads it (test/helpers/sdk-logs.ts).
    setupFiles: ['test/setup/sdk-logs.ts'],
    sequence: { sequencer: SlowFirst },
    // The AWS SDK warns on every client that future releases need Node 22; we pin the SDK.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: SERIAL, maxWorkers: WORKERS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'serial', include: SERIAL, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      // The console's component tests (React in happy-dom): `vitest run test/web`. Same group and width as
      // the parallel project (vitest refuses two projects of one group with different widths).
      { extends: true, test: { name: 'web', include: ['test/web/**/*.test.tsx'], environment: 'happy-dom', environmentOptions: { happyDOM: { url: 'http://127.0.0.1:8080/' } }, maxWorkers: WORKERS, sequence: { groupOrder: 0 } } },
    ],
  },
});
