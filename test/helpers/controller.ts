// A controller runtime for tests: real API, hub and workers against a test Temporal server and a
// test database, each test file on its own task queue.
import { randomBytes } from 'node:crypto';
import { failureConverterPath, startRuntime, type Runtime, type TemporalTls } from '../../controller/runtime';
import { EncryptionCodec } from '../../controller/payload-codec';
import type { DataConverter } from '@temporalio/common';
import type { Role } from '../../controller/config';
import type { TlsFiles } from '../../controller/listeners';
import { newSecretKey, parseSecretKey, type SecretKey } from '../../lib/crypto';
import { createLogger, silentLogger } from '../../lib/log';
import type { TestTemporal } from './temporal';

/**
 * The payload key of every test deployment: controllers of one test (in this process or spawned)
 * must share it, as production controllers share TEMPORAL_PAYLOAD_KEY.
 */
export const TEST_PAYLOAD_KEY_HEX = 'a1'.repeat(32);
export const testPayloadKey = (): Buffer => Buffer.from(TEST_PAYLOAD_KEY_HEX, 'hex');
/**
 * For replaying histories: recorded by test controllers (sealed with the test payload key) or by
 * versions from before payloads were encrypted (plaintext fixtures).
 */
export const replayDataConverter = (): DataConverter => ({
  payloadCodecs: [new EncryptionCodec(testPayloadKey(), [], { allowPlaintext: true })],
  failureConverterPath: failureConverterPath(),
});
/** The emulators tests point cloud accounts at (aliyun fake, moto, throttling proxies) listen on loopback over HTTP. */
export const TEST_CLOUD_ENDPOINT_ALLOW = ['http://127.0.0.1:*'];

export interface TestController extends Runtime {
  /** The API's base URL. */
  url: string;
  /** The agents' base URL (their listener is separate from the API's). */
  agentUrl: string;
  agentPort: number;
  instanceId: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function startTestController(opts: {
  temporal: TestTemporal;
  databaseUrl: string;
  taskQueue: string;
  /** Where the agents' listener binds (default loopback); the API always listens on loopback. */
  agentHost?: string;
  agentPort?: number;
  roles?: Role[];
  secretKey?: SecretKey;
  instanceId?: string;
  heartbeatMs?: number;
  temporalUiUrl?: string;
  apiToken?: string;
  tls?: TlsFiles;
  cloudEndpointAllow?: string[];
  /** Reach Temporal elsewhere than opts.temporal (e.g. through a TLS terminator), with mTLS. */
  temporalAddress?: string;
  temporalTls?: TemporalTls;
  temporalConnectTimeoutMs?: number;
  pskRotation?: { maxAgeMs: number; checkEveryMs: number };
}): Promise<TestController> {
  const instanceId = opts.instanceId ?? `test-${randomBytes(3).toString('hex')}`;
  const rt = await startRuntime({
    roles: opts.roles ?? ['api', 'hub', 'worker'],
    api: { host: '127.0.0.1', port: 0 },
    agent: { host: opts.agentHost ?? '127.0.0.1', port: opts.agentPort ?? 0 },
    ...(opts.tls ? { tls: opts.tls } : {}),
    databaseUrl: opts.databaseUrl,
    temporalAddress: opts.temporalAddress ?? opts.temporal.address,
    ...(opts.temporalTls ? { temporalTls: opts.temporalTls } : {}),
    ...(opts.temporalConnectTimeoutMs ? { temporalConnectTimeoutMs: opts.temporalConnectTimeoutMs } : {}),
    ...(opts.pskRotation ? { pskRotation: opts.pskRotation } : {}),
    temporalNamespace: opts.temporal.namespace,
    payloadKey: testPayloadKey(),
    cloudEndpointAllow: opts.cloudEndpointAllow ?? TEST_CLOUD_ENDPOINT_ALLOW,
    ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}),
    ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
    taskQueue: opts.taskQueue,
    instanceId,
    secretKey: opts.secretKey ?? parseSecretKey(newSecretKey()),
    heartbeatMs: opts.heartbeatMs ?? 1000,
    rpcTimeoutMs: 10_000,
    helloTimeoutMs: 5000,
    log: process.env.TEST_LOG ? createLogger({ level: 'debug', pretty: true, base: { instance: instanceId } }) : silentLogger,
    workflowBundle: opts.temporal.bundle,
  });
  const url = rt.url ?? '';
  return {
    ...rt,
    url,
    agentUrl: rt.agentUrl ?? '',
    agentPort: rt.agentPort ?? 0,
    instanceId,
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(opts.apiToken ? { authorization: `Bearer ${opts.apiToken}` } : {}),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}
