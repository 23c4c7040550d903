// Workflow tests that need no controller, agent or cloud: TestWorkflowEnvironment on a namespace of
// the run's shared dev server (createFromExistingServer; the time-skipping test server is a
// download this machine cannot make, so timers run in real time and tests keep them short), the
// production workflows bundled with a test reply collector (test/workflows/bundle.ts), and workers
// with the fake activities each test gives.
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { controllerDataConverter, failureConverterPath } from '../../controller/runtime';
import { workflowInterceptorsPath } from '../../controller/request-interceptors';
import { testPayloadKey } from './controller';
import { runBundle, testNamespace, type TestTemporal } from './temporal';

export interface WorkerSpec {
  taskQueue: string;
  /** Fakes reproducing the real activities' contracts (names, arguments, results, failure types). */
  activities?: object;
  /** Poll for workflow tasks too (the test bundle). */
  workflows?: boolean;
}

export interface WorkflowEnv {
  readonly env: TestWorkflowEnvironment;
  /** A client encoding payloads as the controller does. */
  readonly client: Client;
  /** A task queue (and id prefix) no other test uses. */
  unique(prefix: string): string;
  /** Runs `fn` while the workers poll, then shuts them down. */
  withWorkers<T>(workers: WorkerSpec[], fn: () => Promise<T>): Promise<T>;
}

const dataConverter = () => controllerDataConverter(testPayloadKey());

/** The test bundle: built once per run. */
export function workflowTestBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= runBundle('workflow-test-bundle', () =>
    bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '..', 'workflows', 'bundle.ts'),
      workflowInterceptorModules: [workflowInterceptorsPath()],
      failureConverterPath: failureConverterPath(),
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => console.error(m) },
    }),
  );
  return bundle;
}
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Registers beforeAll/afterAll in the calling suite that connect and disconnect the environment. */
export function withWorkflowEnv(): WorkflowEnv {
  let temporal: Omit<TestTemporal, 'bundle'> | undefined;
  let env: TestWorkflowEnvironment | undefined;
  let code: WorkflowBundleWithSourceMap | undefined;

  beforeAll(async () => {
    [temporal, code] = await Promise.all([testNamespace(), workflowTestBundle()]);
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporal.address, namespace: temporal.namespace, client: { dataConverter: dataConverter() } });
  }, 120_000);

  afterAll(async () => {
    await env?.teardown();
    await temporal?.stop();
  });

  const ready = (): TestWorkflowEnvironment => {
    if (!env) throw new Error('withWorkflowEnv: use it inside tests or hooks');
    return env;
  };

  return {
    get env() {
      return ready();
    },
    get client() {
      return ready().client;
    },
    unique: (prefix) => `${prefix}-${randomBytes(4).toString('hex')}`,
    async withWorkers(specs, fn) {
      const e = ready();
      const workers = await Promise.all(
        specs.map((spec) =>
          Worker.create({
            connection: e.nativeConnection,
            namespace: e.namespace ?? 'default',
            taskQueue: spec.taskQueue,
            ...(spec.workflows ? { workflowBundle: code! } : {}),
            ...(spec.activities ? { activities: spec.activities } : {}),
            dataConverter: dataConverter(),
          }),
        ),
      );
      const running = workers.map((w) => w.run());
      try {
        return await fn();
      } finally {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(running);
      }
    },
  };
}
