// A controller runtime for tests: real API, hub and workers against a test Temporal server and a
// test database, each test file on its own task queue.
import { randomBytes } from 'node:crypto';
import { startRuntime, type Runtime } from '../../controller/runtime';
import type { Role } from '../../controller/config';
import { newSecretKey, parseSecretKey, type SecretKey } from '../../lib/crypto';
import { createLogger, silentLogger } from '../../lib/log';
import type { TestTemporal } from './temporal';

export interface TestController extends Runtime {
  url: string;
  instanceId: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function startTestController(opts: {
  temporal: TestTemporal;
  databaseUrl: string;
  taskQueue: string;
  host?: string;
  port?: number;
  roles?: Role[];
  secretKey?: SecretKey;
  instanceId?: string;
  heartbeatMs?: number;
  temporalUiUrl?: string;
}): Promise<TestController> {
  const instanceId = opts.instanceId ?? `test-${randomBytes(3).toString('hex')}`;
  const rt = await startRuntime({
    roles: opts.roles ?? ['api', 'hub', 'worker'],
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    databaseUrl: opts.databaseUrl,
    temporalAddress: opts.temporal.address,
    temporalNamespace: 'default',
    ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}),
    taskQueue: opts.taskQueue,
    instanceId,
    secretKey: opts.secretKey ?? parseSecretKey(newSecretKey()),
    heartbeatMs: opts.heartbeatMs ?? 1000,
    rpcTimeoutMs: 10_000,
    helloTimeoutMs: 5000,
    log: process.env.TEST_LOG ? createLogger({ level: 'debug', pretty: true, base: { instance: instanceId } }) : silentLogger,
    workflowBundle: opts.temporal.bundle,
  });
  const url = rt.url!;
  return {
    ...rt,
    url,
    instanceId,
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}
