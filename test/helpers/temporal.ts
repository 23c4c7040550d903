// A real Temporal dev server per test file (headless, in memory, on a free port), and one
// workflow bundle shared by every worker in the file.
import { Runtime, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../../controller/temporal-dev';
import { bundleWorkflows } from '../../controller/runtime';

let runtimeInstalled = false;

export interface TestTemporal {
  address: string;
  bundle: WorkflowBundleWithSourceMap;
  stop(): Promise<void>;
}

export function temporalCliAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    findTemporalCli(process.env.TEMPORAL_CLI);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

export async function startTestTemporal(): Promise<TestTemporal> {
  if (!runtimeInstalled) {
    // Keep test output readable: only the SDK's warnings and errors.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const port = await freePort();
  const [server, bundle] = await Promise.all([startDevServer({ port, headless: true }), bundleWorkflows()]);
  return { address: server.address, bundle, stop: () => server.stop() };
}

export type { DevServer };
