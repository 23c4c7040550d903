// Temporal for tests: a namespace of its own on the run's shared dev server (test/helpers/run.ts),
// or, outside a vitest run, a dev server per process (headless, in memory, on a free port); and one
// workflow bundle shared by every worker of the run.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../../controller/temporal-dev';
import { bundleWorkflows } from '../../controller/runtime';
import { runShared, SHARED_TEMPORAL, startSharedServer } from './run';
import { quietTemporalRuntime } from './sdk-logs';

export { expectSdkLogs, quietTemporalRuntime } from './sdk-logs';

export interface TestTemporal {
  address: string;
  /** The namespace this test file's clients and workers use. */
  namespace: string;
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

/** The workflow bundle: built once per run (or per process outside one). */
export function testWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  production ??= runBundle('workflow-bundle', bundleWorkflows);
  return production;
}
let production: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Builds a bundle once per run, kept as files in the run directory; per process outside a run. */
export async function runBundle(name: string, build: () => Promise<WorkflowBundleWithSourceMap>): Promise<WorkflowBundleWithSourceMap> {
  const files = await runShared(name, async (dir) => {
    const built = await build();
    const code = path.join(dir, `${name}.js`);
    const sourceMap = path.join(dir, `${name}.js.map`);
    writeFileSync(code, built.code);
    writeFileSync(sourceMap, built.sourceMap);
    return { code, sourceMap };
  });
  if (!files) return build();
  return { code: readFileSync(files.code, 'utf8'), sourceMap: readFileSync(files.sourceMap, 'utf8') };
}

/** A namespace of its own on the run's shared server; outside a vitest run, a dev server of its own. */
export async function testNamespace(): Promise<Omit<TestTemporal, 'bundle'>> {
  quietTemporalRuntime();
  const shared = await runShared(SHARED_TEMPORAL, startSharedServer);
  if (shared) return { address: shared.address, namespace: await createNamespace(shared.address), stop: async () => undefined };
  const server = await startDevServer({ port: await freePort(), headless: true });
  return { address: server.address, namespace: 'default', stop: () => server.stop() };
}

/** testNamespace() and the production workflow bundle. */
export async function startTestTemporal(): Promise<TestTemporal> {
  const [temporal, bundle] = await Promise.all([testNamespace(), testWorkflowBundle()]);
  return { ...temporal, bundle };
}

/** Registers a namespace of its own for one test file (usable at once on the dev server). */
export async function createNamespace(address: string, prefix = 'test'): Promise<string> {
  const namespace = `${prefix}-${randomBytes(5).toString('hex')}`;
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  } finally {
    await connection.close();
  }
  return namespace;
}

export type { DevServer };
