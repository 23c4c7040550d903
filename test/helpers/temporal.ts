// Temporal for tests: a namespace of its own on the run's shared dev server (test/helpers/run.ts),
// or, outside a vitest run, a dev server per process (headless, in memory, on a free port); and one
// workflow bundle shared by every worker of the run.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { findTemporalCli, freePort, startDevServer, type DevServer } from '../../controller/temporal-dev';
import { bundleWorkflows } from '../../controller/runtime';
import { runShared, SHARED_TEMPORAL, startSharedServer } from './run';

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

/**
 * The SDK's own log lines (`Activity failed` for every failure a test provokes, `No workflows
 * registered`, core's warnings) at ERROR only, so a failing test's output is its own. TEST_LOG_LEVEL
 * (e.g. WARN, DEBUG) brings them back. Must run before the first worker or connection; a no-op
 * once a runtime is installed. Called by every helper that makes a worker (not in a setup file:
 * importing the worker package costs each test file ~1 s, and most files never need it).
 */
export function quietTemporalRuntime(): void {
  const level = (process.env.TEST_LOG_LEVEL ?? 'ERROR').toUpperCase() as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) } },
    });
  } catch {
    /* already installed in this process */
  }
}

/** The workflow bundle: built once per run (or per process outside one). */
export async function testWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= (async () => {
    const files = await runShared('workflow-bundle', async (dir) => {
      const built = await bundleWorkflows();
      const code = path.join(dir, 'workflow-bundle.js');
      const sourceMap = path.join(dir, 'workflow-bundle.js.map');
      writeFileSync(code, built.code);
      writeFileSync(sourceMap, built.sourceMap);
      return { code, sourceMap };
    });
    if (!files) return bundleWorkflows();
    return { code: readFileSync(files.code, 'utf8'), sourceMap: readFileSync(files.sourceMap, 'utf8') };
  })();
  return bundle;
}
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** A fresh namespace on the run's shared server; outside a vitest run, a dev server of its own. */
export async function startTestTemporal(): Promise<TestTemporal> {
  quietTemporalRuntime();
  const shared = await runShared(SHARED_TEMPORAL, startSharedServer);
  if (shared) {
    const [namespace] = await Promise.all([createNamespace(shared.address), testWorkflowBundle()]);
    return { address: shared.address, namespace, bundle: await testWorkflowBundle(), stop: async () => undefined };
  }
  const port = await freePort();
  const [server, built] = await Promise.all([startDevServer({ port, headless: true }), testWorkflowBundle()]);
  return { address: server.address, namespace: 'default', bundle: built, stop: () => server.stop() };
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
