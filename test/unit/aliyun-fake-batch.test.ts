// Pins the fake's batch route APIs (CreateRouteEntries, DeleteRouteEntries), driven through the REAL
// @alicloud/vpc20160428 client, to their API references:
// https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouteentries
// https://alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-deleterouteentries
// Behaviour the docs leave open is pinned too, as the fake chose it (see vpc-route-batches.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as $Vpc from '@alicloud/vpc20160428';
import { AliyunFake, addGatewaySite, eventually, sdkClients, type GatewaySite, type SdkClients } from '../fakes/aliyun';

const region = 'cn-hangzhou';
const delay = 150;

interface SdkErr {
  code: string;
  statusCode: number;
  data: { Code: string; Message: string };
}

async function sdkError(p: Promise<unknown>): Promise<SdkErr> {
  try {
    await p;
  } catch (e) {
    return e as SdkErr;
  }
  throw new Error('expected the call to fail');
}

let fake: AliyunFake;
let sdk: SdkClients;
let site: GatewaySite;

beforeAll(async () => {
  fake = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: delay });
  sdk = sdkClients(fake, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  site = addGatewaySite(fake, 1, { publicIp: '198.51.100.10' });
});

type CreateEntry = Partial<$Vpc.CreateRouteEntriesRequestRouteEntries>;
type DeleteEntry = Partial<$Vpc.DeleteRouteEntriesRequestRouteEntries>;

const entry = (dst: string, o: CreateEntry = {}) =>
  new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: site.systemTableId, dstCidrBlock: dst, nextHop: site.instanceId, nextHopType: 'Instance', ...o });
const create = (entries: $Vpc.CreateRouteEntriesRequestRouteEntries[], o: Partial<$Vpc.CreateRouteEntriesRequest> = {}) =>
  sdk.vpc.createRouteEntries(new $Vpc.CreateRouteEntriesRequest({ regionId: region, routeEntries: entries, ...o }));
const del = (entries: DeleteEntry[], o: Partial<$Vpc.DeleteRouteEntriesRequest> = {}) =>
  sdk.vpc.deleteRouteEntries(
    new $Vpc.DeleteRouteEntriesRequest({
      regionId: region,
      routeEntries: entries.map((e) => new $Vpc.DeleteRouteEntriesRequestRouteEntries({ routeTableId: site.systemTableId, nextHop: site.instanceId, ...e })),
      ...o,
    }),
  );
const cidrs = (n: number, third = 0) => Array.from({ length: n }, (_, i) => `192.168.${third + i}.0/24`);
const statuses = () => fake.routeEntries(site.systemTableId).map((e) => [e.destinationCidrBlock, e.status]);
const allAvailable = () => eventually(() => (fake.routeEntries(site.systemTableId).every((e) => e.status === 'Available') ? true : undefined));

describe('CreateRouteEntries', () => {
  it('creates every entry in one call: SuccessCount, RouteEntryIds; Pending, then Available', async () => {
    const res = await create(cidrs(3).map((c) => entry(c)));
    expect(res.body).toMatchObject({ successCount: 3, failedCount: 0, failedRouteEntries: [] });
    expect(res.body?.routeEntryIds).toHaveLength(3);
    expect(res.body?.routeEntryIds?.every((id) => id.startsWith('rte-'))).toBe(true);
    expect(statuses()).toEqual(cidrs(3).map((c) => [c, 'Pending']));
    await allAvailable();
    expect(fake.routeEntries(site.systemTableId).map((e) => e.routeEntryId)).toEqual(res.body?.routeEntryIds);
    expect(fake.calls.filter((c) => c.api === 'CreateRouteEntries').map((c) => c.ok)).toEqual([true]);
  });

  it('partial success: a duplicate fails with VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE, other bad entries with the single-entry codes', async () => {
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.50.0/24', nextHopId: site.instanceId });
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.51.0/24', nextHopId: 'tr-x', nextHopType: 'Attachment', type: 'CEN' });
    const other = addGatewaySite(fake, 2, {});
    const res = await create([
      entry('192.168.1.0/24'),
      entry('192.168.50.0/24'),
      entry('192.168.1.0/24'), // the second entry for one destination in the same call
      entry('192.168.51.0/24'),
      entry('192.168.2.0/33'),
      entry('10.1.1.0/24'),
      entry('192.168.3.0/24', { nextHop: 'i-nope' }),
      entry('192.168.4.0/24', { nextHop: other.instanceId }),
      entry('192.168.5.0/24', { routeTableId: 'vtb-nope' }),
      entry('192.168.6.5'),
    ]);
    expect(res.body?.successCount).toBe(2);
    expect(res.body?.failedCount).toBe(8);
    expect(res.body?.routeEntryIds).toHaveLength(2);
    expect(res.body?.failedRouteEntries?.map((f) => [f.dstCidrBlock, f.failedCode])).toEqual([
      ['192.168.50.0/24', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE'],
      ['192.168.1.0/24', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE'],
      ['192.168.51.0/24', 'RouteConflict.AlreadyExist'],
      ['192.168.2.0/33', 'InvalidCidrBlock.Malformed'],
      ['10.1.1.0/24', 'InvalidCidrBlock'],
      ['192.168.3.0/24', 'InvalidNextHopId.NotFound'],
      ['192.168.4.0/24', 'OperationFailed.InstanceDismatchCurrentVpc'],
      ['192.168.5.0/24', 'InvalidRouteTableId.NotFound'],
    ]);
    expect(res.body?.failedRouteEntries?.[0]).toMatchObject({
      nextHop: site.instanceId,
      failedMessage: 'Specified CIDR block is already exists, entry.cidrBlock=192.168.50.0/24',
    });
    // A bare IP is a /32, as for CreateRouteEntry.
    expect(fake.routeEntries(site.systemTableId).filter((e) => e.type === 'Custom' && e.status === 'Pending').map((e) => e.destinationCidrBlock)).toEqual([
      '192.168.1.0/24',
      '192.168.6.5/32',
    ]);
  });

  it('counts the quota per entry, entries accepted earlier in the call included (QuotaExceeded)', async () => {
    const small = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 0, routeQuota: 3 });
    try {
      const s = addGatewaySite(small, 1, {});
      small.addRouteEntry({ routeTableId: s.systemTableId, destinationCidrBlock: '192.168.99.0/24', nextHopId: s.instanceId });
      const c = sdkClients(small, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
      const res = await c.vpc.createRouteEntries(
        new $Vpc.CreateRouteEntriesRequest({
          regionId: region,
          routeEntries: cidrs(3).map((d) => new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: s.systemTableId, dstCidrBlock: d, nextHop: s.instanceId })),
        }),
      );
      expect(res.body?.successCount).toBe(2);
      expect(res.body?.failedRouteEntries?.map((f) => [f.dstCidrBlock, f.failedCode])).toEqual([['192.168.2.0/24', 'QuotaExceeded']]);
    } finally {
      await small.stop();
    }
  });

  it('takes up to 50 entries; 51 fail the whole call (InvalidParameter) and create nothing', async () => {
    const e = await sdkError(create(cidrs(51).map((c) => entry(c))));
    expect(e).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(0);
    expect((await create(cidrs(50).map((c) => entry(c)))).body?.successCount).toBe(50);
  });

  it('whole-call parameter errors: MissingParam.RouteTableId (documented), MissingParameter for a required field or no entries', async () => {
    expect(await sdkError(create([entry('192.168.1.0/24', { routeTableId: undefined })]))).toMatchObject({ code: 'MissingParam.RouteTableId', statusCode: 400 });
    const e = await sdkError(create([entry('192.168.1.0/24'), entry('192.168.2.0/24', { nextHop: undefined })]));
    expect(e.code).toBe('MissingParameter');
    expect(e.data.Message).toContain('RouteEntries.2.NextHop');
    expect((await sdkError(create([]))).code).toBe('MissingParameter');
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(0);
  });

  it('DryRun checks the request without creating (DryRunOperation)', async () => {
    expect(await sdkError(create([entry('192.168.1.0/24')], { dryRun: true }))).toMatchObject({ code: 'DryRunOperation', statusCode: 400 });
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(0);
  });

  it('a busy table fails the whole call (IncorrectRouteEntryStatus, as CreateRouteEntry) and writes nothing; another table is free', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await sdk.vpc.createRouteEntry(
      new $Vpc.CreateRouteEntryRequest({ regionId: region, routeTableId: site.systemTableId, destinationCidrBlock: '192.168.90.0/24', nextHopId: site.instanceId }),
    );
    expect(await sdkError(create([entry('192.168.1.0/24')]))).toMatchObject({ code: 'IncorrectRouteEntryStatus', statusCode: 400 });
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(1);
    expect((await create([entry('192.168.1.0/24', { routeTableId: custom.routeTableId })])).body?.successCount).toBe(1);
    // A batch spanning a busy table and a free one is refused as a whole.
    expect((await sdkError(create([entry('192.168.2.0/24', { routeTableId: custom.routeTableId }), entry('192.168.3.0/24')]))).code).toBe(
      'IncorrectRouteEntryStatus',
    );
    await allAvailable();
    // The batch's own Pending entries make the table busy for the next write, single or batch.
    await create([entry('192.168.4.0/24'), entry('192.168.5.0/24')]);
    const single = sdk.vpc.createRouteEntry(
      new $Vpc.CreateRouteEntryRequest({ regionId: region, routeTableId: site.systemTableId, destinationCidrBlock: '192.168.91.0/24', nextHopId: site.instanceId }),
    );
    expect((await sdkError(single)).code).toBe('IncorrectRouteEntryStatus');
  });

  it('a batch overlapping a write in flight on the same table fails with OperationFailed.DistibuteLock', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    fake.injectFault({ api: 'CreateRouteEntries', latencyMs: 300 });
    const first = create([entry('192.168.1.0/24'), entry('192.168.2.0/24', { routeTableId: custom.routeTableId })]);
    await new Promise((r) => setTimeout(r, 50));
    const single = sdk.vpc.createRouteEntry(
      new $Vpc.CreateRouteEntryRequest({ regionId: region, routeTableId: custom.routeTableId, destinationCidrBlock: '192.168.3.0/24', nextHopId: site.instanceId }),
    );
    expect(await sdkError(single)).toMatchObject({ code: 'OperationFailed.DistibuteLock', statusCode: 400 });
    expect((await first).body?.successCount).toBe(2);
  });

  it('has no ClientToken: one sent anyway is ignored (no replay), so a resend meets its own entries as duplicates', async () => {
    const raw = () =>
      sdk.vpc.callApi(
        { action: 'CreateRouteEntries', version: '2016-04-28', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' } as never,
        {
          query: {
            RegionId: region,
            ClientToken: 'same-token',
            'RouteEntries.1.RouteTableId': site.systemTableId,
            'RouteEntries.1.DstCidrBlock': '192.168.1.0/24',
            'RouteEntries.1.NextHop': site.instanceId,
          },
          headers: {},
        } as never,
        {} as never,
      ) as Promise<{ body: { SuccessCount: number; FailedRouteEntries: { FailedCode: string }[] } }>;
    expect((await raw()).body.SuccessCount).toBe(1);
    await allAvailable();
    const again = (await raw()).body;
    expect(again.SuccessCount).toBe(0);
    expect(again.FailedRouteEntries.map((f) => f.FailedCode)).toEqual(['VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE']);
  });

  it('is throttled per request against its own per-API budget, whatever the number of entries', async () => {
    fake.setLimits({ perApi: { CreateRouteEntries: { perSecond: 1 } } });
    expect((await create(cidrs(20).map((c) => entry(c)))).body?.successCount).toBe(20);
    expect(await sdkError(create([entry('192.168.30.0/24', { routeTableId: fake.addRouteTable({ vpcId: site.vpcId }).routeTableId })]))).toMatchObject({
      code: 'Throttling.User',
      statusCode: 400,
    });
    // CreateRouteEntry keeps its own budget.
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await sdk.vpc.createRouteEntry(
      new $Vpc.CreateRouteEntryRequest({ regionId: region, routeTableId: custom.routeTableId, destinationCidrBlock: '192.168.31.0/24', nextHopId: site.instanceId }),
    );
    expect(fake.calls.filter((c) => c.api === 'CreateRouteEntries').map((c) => c.code ?? 'ok')).toEqual(['ok', 'Throttling.User']);
  });
});

describe('DeleteRouteEntries', () => {
  it('deletes by destination + next hop and by RouteEntryId in one call: Deleting, then gone', async () => {
    const ids = (await create(cidrs(3).map((c) => entry(c)))).body!.routeEntryIds!;
    await allAvailable();
    const res = await del([{ dstCidrBlock: '192.168.0.0/24' }, { routeEntryId: ids[1], nextHop: undefined }]);
    expect(res.body).toMatchObject({ successCount: 2, failedCount: 0, failedRouteEntries: [] });
    expect(statuses()).toEqual([
      ['192.168.0.0/24', 'Deleting'],
      ['192.168.1.0/24', 'Deleting'],
      ['192.168.2.0/24', 'Available'],
    ]);
    await eventually(() => (fake.routeEntries(site.systemTableId).length === 1 ? true : undefined));
    expect(fake.calls.filter((c) => c.api === 'DeleteRouteEntries')).toHaveLength(1);
  });

  it('per entry: VPC_ROUTER_ENTRY_NOT_EXIST when absent or pointing elsewhere; system route OperationDenied; unknown table', async () => {
    await create([entry('192.168.1.0/24')]);
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.20.0/24', nextHopId: 'i-someoneelse' });
    await allAvailable();
    const res = await del([
      { dstCidrBlock: '192.168.1.0/24' },
      { dstCidrBlock: '192.168.1.0/24' }, // named twice: the first mention already deletes it
      { dstCidrBlock: '192.168.9.0/24' },
      { dstCidrBlock: '192.168.20.0/24' },
      { routeEntryId: 'rte-doesnotexist' },
      { dstCidrBlock: '10.1.1.0/24' },
      { dstCidrBlock: '192.168.1.0/24', routeTableId: 'vtb-nope' },
    ]);
    expect(res.body?.successCount).toBe(1);
    expect(res.body?.failedRouteEntries?.map((f) => [f.dstCidrBlock ?? f.routeEntryId, f.failedCode])).toEqual([
      ['192.168.1.0/24', 'VPC_ROUTER_ENTRY_NOT_EXIST'],
      ['192.168.9.0/24', 'VPC_ROUTER_ENTRY_NOT_EXIST'],
      ['192.168.20.0/24', 'VPC_ROUTER_ENTRY_NOT_EXIST'],
      ['rte-doesnotexist', 'VPC_ROUTER_ENTRY_NOT_EXIST'],
      ['10.1.1.0/24', 'OperationDenied'],
      ['192.168.1.0/24', 'InvalidRouteTableId.NotFound'],
    ]);
    expect(res.body?.failedRouteEntries?.[1]).toMatchObject({ nextHop: site.instanceId, failedMessage: 'vRouterEntry not exists' });
    expect(fake.routeEntries(site.systemTableId).find((e) => e.destinationCidrBlock === '192.168.20.0/24')?.status).toBe('Available');
  });

  it('a busy table fails the whole call with TaskConflict (documented) and deletes nothing', async () => {
    await create([entry('192.168.1.0/24')]);
    await allAvailable();
    await create([entry('192.168.2.0/24')]);
    expect(await sdkError(del([{ dstCidrBlock: '192.168.1.0/24' }]))).toMatchObject({ code: 'TaskConflict', statusCode: 400 });
    expect(statuses()).toEqual([
      ['192.168.1.0/24', 'Available'],
      ['192.168.2.0/24', 'Pending'],
    ]);
  });

  it('whole-call errors: more than 50 entries, a missing NextHop without RouteEntryId, DryRun', async () => {
    expect((await sdkError(del(cidrs(51).map((c) => ({ dstCidrBlock: c }))))).code).toBe('InvalidParameter');
    expect((await sdkError(del([{ dstCidrBlock: '192.168.1.0/24', nextHop: undefined }]))).code).toBe('MissingParameter');
    expect((await sdkError(del([{ dstCidrBlock: '192.168.1.0/24' }], { dryRun: true }))).code).toBe('DryRunOperation');
  });
});
