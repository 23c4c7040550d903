// Issue 9 finding 5: a cloud account's endpoint overrides must not turn the controller into a
// credential-forwarding client for any URL. The API refuses endpoints off the allow-list, and the
// provider resolver checks again at use (the setting may have changed, or a row was written to the
// database directly): discovery then fails with the reason and no request leaves the controller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { missing, withStack } from '../helpers/with-stack';
import type { CloudAccountBody, ErrorResponseBody, GatewayBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { createSqliteTestDb, type TestDb } from '../helpers/db';
import { AliyunFake } from '../fakes/aliyun';
import { ALIYUN_AK, ALIYUN_SECRET } from '../helpers/clouds';
import { providerResolver, sealCredentials } from '../../cloud/accounts';
import { createStore } from '../../store';
import { CloudError, type CloudProvider, type CloudTarget } from '../../cloud/types';
import { createCloudActivities } from '../../activities/cloud';
import { newSecretKey, parseSecretKey, type SecretKey } from '../../lib/crypto';
import { newAccountId } from '../../api/ids';
import type { Db } from '../../db';

const KEYS = { accessKeyId: 'AKIDENDPOINTTEST', accessKeySecret: 'endpoint-test-secret-value', securityToken: 'session-token-value' };

/** A cloud account row as if written straight into the database (no API, no check). */
async function insertAccount(db: Db, key: SecretKey, provider: 'aliyun' | 'aws', endpoints: unknown): Promise<string> {
  const id = newAccountId();
  await db.cloudAccount.create({
    data: {
      id,
      name: `direct-${id}`,
      provider,
      credentialsCiphertext: sealCredentials(key, id, KEYS),
      endpoints: typeof endpoints === 'string' ? endpoints : JSON.stringify(endpoints),
    },
  });
  return id;
}

/** A listener that counts what reaches it (it should never be reached) and answers 500. */
async function trap(host: string): Promise<{ server: Server; port: number; hits: () => number; stop(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    req.resume();
    res.writeHead(500, { 'content-type': 'text/plain' }).end('trap');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('providerResolver checks the stored endpoints at use', () => {
  let tdb: TestDb;
  const key = parseSecretKey(newSecretKey());
  const built: CloudTarget[] = [];
  const build = (t: CloudTarget): CloudProvider => {
    built.push(t);
    return { name: t.provider } as CloudProvider;
  };

  beforeAll(async () => {
    tdb = await createSqliteTestDb();
  });
  afterAll(async () => {
    await tdb?.cleanup();
  });

  async function refusal(accountId: string, endpointAllow: string[] = ['http://127.0.0.1:*']): Promise<CloudError> {
    built.length = 0;
    const resolve = providerResolver(createStore(tdb.db), key, { endpointAllow, build });
    const err = await resolve({ accountId, region: 'cn-hangzhou' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(built).toEqual([]);
    expect(err).toBeInstanceOf(CloudError);
    const e = err as CloudError;
    expect(e.retryable).toBe(false);
    for (const secret of Object.values(KEYS)) expect(e.message).not.toContain(secret);
    return e;
  }

  it('refuses a metadata address written into the database, without building a provider', async () => {
    const id = await insertAccount(tdb.db, key, 'aliyun', { vpc: 'http://169.254.169.254', ecs: 'http://169.254.169.254' });
    const e = await refusal(id);
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/endpoints\.(vpc|ecs)/);
    expect(e.message).toContain('169.254.169.254');
    expect(e.message).toContain('CLOUD_ENDPOINT_ALLOW');
  });

  it('refuses hosts off the allow-list, user info and malformed rows', async () => {
    for (const endpoints of [
      { ec2: 'http://localhost:9000' },
      { ec2: 'http://127.0.0.2:9000' },
      { ec2: 'http://127.0.0.1.nip.io:9000' },
      { ec2: 'https://evil.example' },
      { ec2: `https://${KEYS.accessKeyId}:${KEYS.accessKeySecret}@ec2.eu-west-1.amazonaws.com` },
      { ec2: 42 },
      '{"ec2": ',
      ['http://127.0.0.1:9000'],
    ]) {
      const id = await insertAccount(tdb.db, key, 'aws', endpoints);
      const e = await refusal(id);
      expect(e.kind).toBe('invalid');
    }
  });

  it('an endpoint the setting no longer allows is refused', async () => {
    const id = await insertAccount(tdb.db, key, 'aws', { ec2: 'https://ec2.private.example:8443' });
    const ok = await providerResolver(createStore(tdb.db), key, { endpointAllow: ['*.private.example:8443', 'ec2.private.example:8443'], build })({ accountId: id, region: 'eu-west-1' });
    expect(ok.target.endpoints).toEqual({ ec2: 'https://ec2.private.example:8443' });
    await refusal(id, ['http://127.0.0.1:*']);
    // Without the option only the providers' own domains pass.
    const loop = await insertAccount(tdb.db, key, 'aws', { ec2: 'http://127.0.0.1:9000' });
    built.length = 0;
    await expect(providerResolver(createStore(tdb.db), key, { build })({ accountId: loop, region: 'eu-west-1' })).rejects.toBeInstanceOf(CloudError);
    expect(built).toEqual([]);
  });

  it('an allowed endpoint is passed on normalised', async () => {
    const id = await insertAccount(tdb.db, key, 'aliyun', { vpc: 'http://127.0.0.1:9000/', ecs: 'https://ECS.cn-hangzhou.aliyuncs.com.' });
    const got = await providerResolver(createStore(tdb.db), key, { endpointAllow: ['http://127.0.0.1:*'], build })({ accountId: id, region: 'cn-hangzhou' });
    expect(got.target.endpoints).toEqual({ vpc: 'http://127.0.0.1:9000', ecs: 'https://ecs.cn-hangzhou.aliyuncs.com' });
  });

  it('the activity turns the refusal into a non-retryable failure', async () => {
    const acts = createCloudActivities(async () => {
      throw new CloudError('invalid', 'cloud account x: endpoints.ec2 is not allowed');
    });
    const err = await acts.cloudDiscover({ accountId: 'x', region: 'eu-west-1', publicIp: '198.51.100.1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'Cloud.invalid', nonRetryable: true });
    expect((err as Error).message).toContain('endpoints.ec2 is not allowed');
  });
});

const secretKey = parseSecretKey(newSecretKey());
const needs = { controller: { secretKey }, name: 'endpoints' } as const;

describe.skipIf(missing(needs, 'cloud endpoint tests'))('through the controller (real Temporal, test allow-list http://127.0.0.1:*)', () => {
  const s = withStack(needs);
  let aliyun: AliyunFake;
  const traps: Array<Awaited<ReturnType<typeof trap>>> = [];

  beforeAll(async () => {
    aliyun = s.track(await AliyunFake.start({ accessKeys: { [ALIYUN_AK]: ALIYUN_SECRET } }));
    traps.push(s.track(await trap('127.0.0.1')), s.track(await trap('127.0.0.2')));
  });

  const accountCount = () => s.ctl.db.cloudAccount.count();

  it('POST /api/cloud-accounts refuses an endpoint off the allow-list with 400 naming the field and the setting; nothing is stored', async () => {
    const before = await accountCount();
    for (const [field, endpoints] of [
      ['endpoints.vpc', { vpc: 'http://169.254.169.254', ecs: aliyun.url }],
      ['endpoints.ecs', { vpc: aliyun.url, ecs: 'http://100.100.100.200' }],
      ['endpoints.vpc', { vpc: 'http://localhost:9000', ecs: aliyun.url }],
      ['endpoints.vpc', { vpc: 'http://127.0.0.1.nip.io:9000', ecs: aliyun.url }],
      ['endpoints.vpc', { vpc: 'https://evil.example#@vpc.cn-hangzhou.aliyuncs.com', ecs: aliyun.url }],
      ['endpoints.vpc', { vpc: `https://${ALIYUN_AK}:${ALIYUN_SECRET}@vpc.cn-hangzhou.aliyuncs.com`, ecs: aliyun.url }],
      ['endpoints.vpc', { vpc: 'http://vpc.cn-hangzhou.aliyuncs.com', ecs: aliyun.url }],
    ] as const) {
      const r = await s.api<ErrorResponseBody>('POST', '/api/cloud-accounts', {
        name: `refused-${randomBytes(3).toString('hex')}`,
        provider: 'aliyun',
        credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET },
        endpoints,
      });
      expect(r.status, JSON.stringify(endpoints)).toBe(400);
      expect(r.body.error.message).toContain(field);
      expect(r.body.error.message).toContain('CLOUD_ENDPOINT_ALLOW');
      expect(r.body.error.details?.fields?.map((f) => f.field)).toEqual([field]);
      expect(JSON.stringify(r.body)).not.toContain(ALIYUN_SECRET);
    }
    const aws = await s.api<ErrorResponseBody>('POST', '/api/cloud-accounts', { name: 'refused-aws', provider: 'aws', credentials: { accessKeyId: 'AKIDX', accessKeySecret: 'x-secret' }, endpoints: { ec2: 'http://[fd00:ec2::254]' } });
    expect(aws.status).toBe(400);
    expect(aws.body.error.details?.fields?.map((f) => f.field)).toEqual(['endpoints.ec2']);
    expect(await accountCount()).toBe(before);
  });

  it('accepts the providers\' own domains and the emulators the setting allows, stored normalised', async () => {
    const own = await s.api<CloudAccountBody>('POST', '/api/cloud-accounts', {
      name: 'own-domains',
      provider: 'aliyun',
      endpoints: { vpc: 'https://VPC-vpc.cn-hangzhou.aliyuncs.com/', ecs: 'https://ecs.cn-hangzhou.aliyuncs.com' },
    });
    expect(own.status).toBe(201);
    expect(own.body.endpoints).toEqual({ vpc: 'https://vpc-vpc.cn-hangzhou.aliyuncs.com', ecs: 'https://ecs.cn-hangzhou.aliyuncs.com' });
    const emu = await s.api<CloudAccountBody>('POST', '/api/cloud-accounts', { name: 'emulator', provider: 'aws', endpoints: { ec2: 'http://127.0.0.1:5000' } });
    expect(emu.status).toBe(201);
  });

  async function discoveryOf(account: string, provider: 'aliyun' | 'aws', publicIp: string): Promise<GatewayBody> {
    const r = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `gw-${randomBytes(3).toString('hex')}`, provider, region: provider === 'aws' ? 'eu-west-1' : 'cn-hangzhou', publicIp, account });
    expect(r.status).toBe(201);
    await expect.poll(async () => (await s.api<GatewayBody>('GET', `/api/gateways/${r.body.id}`)).body.state, { timeout: 20_000 }).toBe('failed');
    return (await s.api<GatewayBody>('GET', `/api/gateways/${r.body.id}`)).body;
  }

  it('an account row pointing at loopback listeners off the allow-list fails discovery with the reason; no request reaches them', async () => {
    const [v4, other] = traps as [Awaited<ReturnType<typeof trap>>, Awaited<ReturnType<typeof trap>>];
    const viaName = await insertAccount(s.ctl.db, secretKey, 'aliyun', { vpc: `http://localhost:${v4.port}`, ecs: `http://localhost:${v4.port}` });
    const viaOtherLoopback = await insertAccount(s.ctl.db, secretKey, 'aws', { ec2: `http://127.0.0.2:${other.port}` });
    const a = await discoveryOf(viaName, 'aliyun', '198.51.100.61');
    expect(a.stateReason).toMatch(/endpoints\.(vpc|ecs)/);
    expect(a.stateReason).toContain('not on the allow-list');
    expect(a.stateReason).toContain('CLOUD_ENDPOINT_ALLOW');
    const b = await discoveryOf(viaOtherLoopback, 'aws', '198.51.100.62');
    expect(b.stateReason).toContain('endpoints.ec2');
    expect(b.stateReason).toContain('127.0.0.2');
    expect(v4.hits() + other.hits()).toBe(0);
  });

  it('an account row with http://169.254.169.254 fails discovery with that reason', async () => {
    const id = await insertAccount(s.ctl.db, secretKey, 'aws', { ec2: 'http://169.254.169.254' });
    const g = await discoveryOf(id, 'aws', '198.51.100.63');
    expect(g.stateReason).toContain('endpoints.ec2');
    expect(g.stateReason).toContain('169.254.169.254');
    expect(g.stateReason).toMatch(/metadata|link-local/);
    for (const secret of Object.values(KEYS)) expect(g.stateReason).not.toContain(secret);
  });
});
