// Discovery makes several reads in one activity; each must wait for its own slot of the describe
// budget, so that the calls reaching the cloud stay spaced by 1/rate (cloud/pacer.ts). Measured on
// the Alibaba fake's own call log at 3 calls/s: a gateway found by its EIP costs four reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudActivities, type PaceCall } from '../../activities/cloud';
import { createAliyunProvider } from '../../cloud/aliyun';
import { dbPacer } from '../../cloud/pacer';
import { createStore } from '../../store';
import { capabilitiesOf } from '../../cloud/capabilities';
import type { CloudProvider, CloudTarget, PeerRule } from '../../cloud/types';
import { AliyunFake, addGatewaySite } from '../fakes/aliyun';
import { createSqliteTestDb, type TestDb } from '../helpers/db';

const RATE = 3;
const region = 'cn-hangzhou';

describe('discovery pacing', () => {
  let fake: AliyunFake;
  let db: TestDb;
  beforeAll(async () => {
    [fake, db] = await Promise.all([AliyunFake.start({ accessKeys: { AK: 'SECRET' } }), createSqliteTestDb()]);
  });
  afterAll(async () => {
    await Promise.all([fake?.stop(), db?.cleanup()]);
  });

  it(`spaces every read by 1/rate at ${RATE} calls/s`, async () => {
    const site = addGatewaySite(fake, 1, { eip: '198.51.100.20' });
    const target: CloudTarget = { provider: 'aliyun', region, credentials: { accessKeyId: 'AK', accessKeySecret: 'SECRET' }, endpoints: { vpc: fake.url, ecs: fake.url } };
    const pacer = dbPacer(createStore(db.db).budgets);
    const pace: PaceCall = async (ref, api, slots) => {
      await pacer({ provider: ref.provider, accountId: ref.accountId, region: ref.region, api }, RATE, slots);
    };
    const provider = createAliyunProvider(target);
    const acts = createCloudActivities(async () => ({ provider, target }), pace);
    // A fresh client's first request is slower to arrive than the next (connection, signing set-up):
    // one unpaced read first, so the gaps below measure the pacing alone.
    await provider.getRoute({ routeTableId: site.systemTableId, destinationCidr: '10.99.0.0/24' });
    const before = fake.calls.length;

    const found = await acts.cloudDiscover({ accountId: 'acc', region, publicIp: '198.51.100.20' });

    expect(found.instanceId).toBe(site.instanceId);
    const reads = fake.calls.slice(before);
    expect(reads.map((call) => call.api)).toEqual(['DescribeInstances', 'DescribeInstances', 'DescribeVpcs', 'DescribeRouteTableList']);
    // One slot is 1000/3 + 2 ms ≈ 336 ms. A call may start up to 15 ms after its slot (LATE_MS) and
    // a loaded machine delays a request's arrival by a few tens of ms more, so a gap may come out
    // short of a slot, but never near 0. Reserving four slots up front and then calling at once
    // put all four reads within ~11 ms (gaps of 5 to 83 ms in our runs; 328-343 ms paced).
    const gaps = reads.slice(1).map((call, i) => call.at - reads[i]!.at);
    const why = `gaps between reads: ${gaps.join(', ')} ms`;
    for (const gap of gaps) expect(gap, why).toBeGreaterThanOrEqual(250);
    expect(reads.at(-1)!.at - reads[0]!.at, why).toBeGreaterThanOrEqual(3 * 336 - 60);
  });

  it('a provider without batch rule calls takes a slot right before each call, none up front', async () => {
    const events: string[] = [];
    const provider = {
      name: 'aws',
      capabilities: capabilitiesOf('aws'),
      allowPeer: async (rule: PeerRule) => void events.push(`call ${rule.peerIp}`),
    } as unknown as CloudProvider;
    const pace: PaceCall = async (_ref, api, slots) => void events.push(`slot ${api} x${slots}`);
    const acts = createCloudActivities(async () => ({ provider, target: { provider: 'aws', region: 'eu-west-1' } }), pace);
    const rule = (peerIp: string): PeerRule => ({ securityGroupId: 'sg-1', peerIp, description: 'd' });
    await acts.cloudAllowPeers({ accountId: 'acc', region: 'eu-west-1', rules: [rule('198.51.100.1'), rule('198.51.100.2')] });
    expect(events).toEqual(['slot securityGroup x1', 'call 198.51.100.1', 'slot securityGroup x1', 'call 198.51.100.2']);
  });
});
