// Cloud metrics from the real cloud activities, SDK clients and database pacer against the Alibaba
// fake (and moto when it is installed): every call the emulator saw is counted once, by budget class
// and outcome, a call the fake throttles counts as throttled, and each pacer wait is observed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createCloudActivities, type ProviderFor } from '../../activities/cloud';
import { createProvider } from '../../cloud';
import { budgetFor } from '../../cloud/budgets';
import { dbPacer } from '../../cloud/pacer';
import { createStore } from '../../store';
import type { CloudTarget } from '../../cloud/types';
import { measuredPacer } from '../../controller/metrics';
import { ControllerMetrics } from '../../lib/metrics';
import { AliyunFake, addGatewaySite, type GatewaySite } from '../fakes/aliyun';
import { createSqliteTestDb, type TestDb } from '../helpers/db';
import { motoAvailable, startMoto } from '../helpers/moto';
import { parsePrometheusText, sampleValue } from '../helpers/prom-text';

const region = 'cn-hangzhou';

describe('cloud metrics (real activities, SDK and pacer against the emulators)', () => {
  let fake: AliyunFake;
  let site: GatewaySite;
  let db: TestDb;
  let metrics: ControllerMetrics;
  let acts: ReturnType<typeof createCloudActivities>;
  const targets = new Map<string, CloudTarget>();

  const counted = async (provider: string, api: string, outcome: string) =>
    sampleValue(parsePrometheusText(await metrics.exposition.metrics()), 'ipsecmesh_cloud_api_calls_total', { provider, api_class: api, outcome }) ?? 0;

  beforeAll(async () => {
    fake = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 50 });
    site = addGatewaySite(fake, 1, { publicIp: '198.51.100.10' });
    targets.set('ali', { provider: 'aliyun', region, credentials: { accessKeyId: 'AK', accessKeySecret: 'SECRET' }, endpoints: { vpc: fake.url, ecs: fake.url } });
    db = await createSqliteTestDb();
    metrics = new ControllerMetrics();
    const pacer = measuredPacer(dbPacer(createStore(db.db).budgets), metrics.cloud);
    const providerFor: ProviderFor = async (ref) => {
      const target = targets.get(ref.accountId)!;
      return { provider: createProvider(target), target };
    };
    acts = createCloudActivities(providerFor, async (ref, api, slots) => {
      await pacer({ provider: ref.provider, accountId: ref.accountId, region: ref.region, api }, budgetFor(ref.provider, api), slots);
    }, metrics.cloud);
  });
  afterAll(async () => {
    await fake?.stop();
    await db?.cleanup();
  });

  it('counts every call the fake saw, by budget class, and observes each pacer wait', async () => {
    const seen = fake.calls.length;
    const discovered = await acts.cloudDiscover({ accountId: 'ali', region, publicIp: '198.51.100.10' });
    expect(discovered.instanceId).toBe(site.instanceId);
    const discoveryCalls = fake.calls.length - seen;
    expect(discoveryCalls).toBeGreaterThanOrEqual(3);
    expect(await counted('aliyun', 'describe', 'ok')).toBe(discoveryCalls);

    const route = { routeTableId: site.systemTableId, destinationCidr: '10.200.1.0/24', instanceId: site.instanceId };
    expect(await acts.cloudCreateRoute({ accountId: 'ali', region, route, clientToken: 'metrics-1' })).toBe('created');
    expect(await counted('aliyun', 'routeWrite', 'ok')).toBe(1);

    const families = parsePrometheusText(await metrics.exposition.metrics());
    // One pacer call per describe call (a slot each) and one for the route write.
    expect(sampleValue(families, 'ipsecmesh_cloud_pacer_wait_seconds_count', { provider: 'aliyun', api_class: 'describe' })).toBe(discoveryCalls);
    expect(sampleValue(families, 'ipsecmesh_cloud_pacer_wait_seconds_count', { provider: 'aliyun', api_class: 'routeWrite' })).toBe(1);
    // Discovery's calls are spaced by the describe budget (10/s): some of them waited.
    expect(sampleValue(families, 'ipsecmesh_cloud_pacer_wait_seconds_sum', { provider: 'aliyun', api_class: 'describe' })).toBeGreaterThan(0);
  });

  it('counts a call the fake throttles as throttled, and a refused one as an error', async () => {
    const route = { routeTableId: site.systemTableId, destinationCidr: '10.200.1.0/24' };
    fake.setLimits({ perApi: { DescribeRouteEntryList: { perMinute: 1 } } });
    try {
      await acts.cloudGetRoute({ accountId: 'ali', region, route });
      const failure = await acts.cloudGetRoute({ accountId: 'ali', region, route }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).type).toBe('Cloud.throttled');
    } finally {
      fake.setLimits({});
    }
    expect(fake.calls.filter((c) => c.code === 'Throttling.User')).toHaveLength(1);
    expect(await counted('aliyun', 'routeRead', 'ok')).toBe(1);
    expect(await counted('aliyun', 'routeRead', 'throttled')).toBe(1);

    const bad = await acts.cloudCreateRoute({ accountId: 'ali', region, route: { routeTableId: 'vtb-missing', destinationCidr: '10.200.2.0/24', instanceId: site.instanceId }, clientToken: 'metrics-2' }).catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect(await counted('aliyun', 'routeWrite', 'error')).toBe(1);
  });

  it.skipIf(!motoAvailable().ok)('counts AWS calls against moto', async () => {
    const moto = await startMoto();
    try {
      targets.set('aws', { provider: 'aws', region: 'us-east-1', credentials: { accessKeyId: 'AKIAMOTOTEST', accessKeySecret: 'moto-secret' }, endpoints: { ec2: moto.endpoint } });
      // Nothing has this address in a fresh moto: discovery answers not_found after its first call.
      const failure = await acts.cloudDiscover({ accountId: 'aws', region: 'us-east-1', publicIp: '203.0.113.77' }).catch((err: unknown) => err);
      expect((failure as ApplicationFailure).type).toBe('Cloud.not_found');
      expect(await counted('aws', 'describe', 'ok') + (await counted('aws', 'describe', 'error'))).toBeGreaterThanOrEqual(1);
    } finally {
      await moto.stop();
    }
  });
});
