// vitest setupFiles: a test file that imported the Temporal worker package by itself (the replay
// test, say) gets the quiet SDK logger too, before its first hook or test makes a worker. Files
// that never load the package do not pay for loading it here (~1 s each).
import { createRequire } from 'node:module';
import { beforeAll } from 'vitest';

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  if (require.cache[require.resolve('@temporalio/worker')]) (await import('../helpers/sdk-logs')).quietTemporalRuntime();
});
