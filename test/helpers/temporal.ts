// Temporal for tests: a namespace of its own on the run's shared dev server (test/helpers/run.ts),
// or, outside a vitest run, a dev server per process (headless, in memory, on a free port); and one
// workflow bundle shared by every worker of the run.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { inspect } from 'node:util';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
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
      logger: new DefaultLogger(level, printUnlessExpected),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) } },
    });
  } catch {
    /* already installed in this process */
  }
}

/** SDK log lines a test provokes on purpose, by pattern: kept for the test to assert on, not printed. */
const expected: Array<{ pattern: RegExp; seen: string[] }> = [];

/** From now on in this file, SDK log lines matching `pattern` are collected into the returned list instead of printed. */
export function expectSdkLogs(pattern: RegExp): string[] {
  const seen: string[] = [];
  expected.push({ pattern, seen });
  return seen;
}

function printUnlessExpected(entry: LogEntry): void {
  const text = `${entry.message} ${inspect(entry.meta, { depth: 4 })}`;
  const hit = expected.find((e) => e.pattern.test(text));
  if (hit) {
    hit.seen.push(text);
    return;
  }
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  (entry.level === 'ERROR' ? console.error : console.warn)(`${at} [${entry.level}] ${entry.message}`, entry.meta ?? '');
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
