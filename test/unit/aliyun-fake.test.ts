// Pins every behaviour of the Alibaba Cloud fake, driven through the REAL @alicloud SDK clients, to
// the documentation it reproduces (cited per test). If the fake drifts from the docs, this fails.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import VpcClient, * as $Vpc from '@alicloud/vpc20160428';
import { Config } from '@alicloud/openapi-client';
import * as $Ecs from '@alicloud/ecs20140526';
import { AliyunFake, addGatewaySite, eventually, sdkClients, type GatewaySite, type SdkClients } from '../fakes/aliyun';

const region = 'cn-hangzhou';
const delay = 150;

interface SdkErr {
  name: string;
  code: string;
  statusCode: number;
  data: { Code: string; Message: string; RequestId: string };
  retryAfter?: number;
}

/** The SDK error a call fails with (fails the test if it succeeds). */
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
  fake = await AliyunFake.start({ accessKeys: { AK: 'SECRET', STSKEY: { secret: 'S2', securityToken: 'TOKEN' } }, asyncDelayMs: delay });
  sdk = sdkClients(fake, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  site = addGatewaySite(fake, 1, { publicIp: '198.51.100.10' });
});

const createReq = (o: Partial<$Vpc.CreateRouteEntryRequest> = {}) =>
  new $Vpc.CreateRouteEntryRequest({
    regionId: region,
    routeTableId: site.systemTableId,
    destinationCidrBlock: '192.168.10.0/24',
    nextHopType: 'Instance',
    nextHopId: site.instanceId,
    ...o,
  });
const listReq = (o: Partial<$Vpc.DescribeRouteEntryListRequest> = {}) =>
  new $Vpc.DescribeRouteEntryListRequest({ regionId: region, routeTableId: site.systemTableId, ...o });
const statusOf = async (cidr: string) =>
  (await sdk.vpc.describeRouteEntryList(listReq({ destinationCidrBlock: cidr }))).body?.routeEntrys?.routeEntry?.[0]?.status;
const available = (cidr: string) => eventually(async () => ((await statusOf(cidr)) === 'Available' ? true : undefined));

describe('gateway: signature V3 and errors (https://help.aliyun.com/document_detail/2593177.html)', () => {
  it('answers JSON with RequestId, and errors as {Code, Message, RequestId} that the SDK surfaces', async () => {
    const ok = await sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
    expect(ok.statusCode).toBe(200);
    expect(ok.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);
    const e = await sdkError(sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({})));
    expect(e).toMatchObject({ code: 'MissingParameter', statusCode: 400 });
    expect(e.data.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(e.data.Message).toContain('RegionId');
  });

  it('refuses an unknown AccessKeyId with InvalidAccessKeyId.NotFound (404)', async () => {
    const other = sdkClients(fake, { accessKeyId: 'NOPE', accessKeySecret: 'SECRET' });
    expect(await sdkError(other.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region })))).toMatchObject({
      code: 'InvalidAccessKeyId.NotFound',
      statusCode: 404,
    });
  });

  it('recomputes the signature: a wrong secret is SignatureDoesNotMatch (400)', async () => {
    const other = sdkClients(fake, { accessKeyId: 'AK', accessKeySecret: 'WRONG' });
    expect(await sdkError(other.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region })))).toMatchObject({
      code: 'SignatureDoesNotMatch',
      statusCode: 400,
    });
  });

  it('accepts STS keys only with their security token', async () => {
    const good = sdkClients(fake, { accessKeyId: 'STSKEY', accessKeySecret: 'S2', securityToken: 'TOKEN' });
    expect((await good.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }))).statusCode).toBe(200);
    const bad = sdkClients(fake, { accessKeyId: 'STSKEY', accessKeySecret: 'S2', securityToken: 'OTHER' });
    expect((await sdkError(bad.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region })))).code).toBe('InvalidSecurityToken.Mismatch');
  });

  it('rejects a replayed request (SignatureNonceUsed) and a tampered one (SignatureDoesNotMatch)', async () => {
    // Capture exactly what the SDK sends, then replay it to the fake byte for byte.
    let captured: { url: string; headers: IncomingHttpHeaders } | undefined;
    const capture = createServer((req, res) => {
      captured = { url: req.url ?? '/', headers: req.headers };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"RequestId":"X"}');
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    const port = (capture.address() as AddressInfo).port;
    const client = new VpcClient(new Config({ accessKeyId: 'AK', accessKeySecret: 'SECRET', regionId: region, endpoint: `127.0.0.1:${port}`, protocol: 'http' }));
    await client.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
    capture.close();
    const replay = (url: string) =>
      new Promise<{ status: number; body: { Code?: string } }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: Number(fake.endpoint.split(':')[1]), method: 'POST', path: url, headers: captured!.headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { Code?: string } }));
        });
        req.on('error', reject);
        req.end();
      });
    expect((await replay(captured!.url.replace('RegionId=cn-hangzhou', 'RegionId=cn-beijing'))).body.Code).toBe('SignatureDoesNotMatch');
    expect((await replay(captured!.url)).status).toBe(200);
    expect((await replay(captured!.url)).body.Code).toBe('SignatureNonceUsed');
  });

  it('answers an action it does not serve with InvalidAction.NotFound (404)', async () => {
    expect(await sdkError(sdk.vpc.describeRegions(new $Vpc.DescribeRegionsRequest({})))).toMatchObject({
      code: 'InvalidAction.NotFound',
      statusCode: 404,
    });
  });
});

describe('ECS DescribeInstances (ECS API reference: PublicIpAddresses/EipAddresses are JSON arrays)', () => {
  it('finds an instance by public IP with its VPC attributes, addresses and security groups', async () => {
    const res = await sdk.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId: region, publicIpAddresses: JSON.stringify(['198.51.100.10']) }),
    );
    expect(res.body?.totalCount).toBe(1);
    const i = res.body!.instances!.instance![0]!;
    expect(i.instanceId).toBe(site.instanceId);
    expect(i.vpcAttributes).toMatchObject({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIpAddress: { ipAddress: ['10.1.1.10'] } });
    expect(i.publicIpAddress?.ipAddress).toEqual(['198.51.100.10']);
    expect(i.securityGroupIds?.securityGroupId).toEqual([site.securityGroupId]);
    expect(i.instanceNetworkType).toBe('vpc');
  });

  it('matches EIPs only through EipAddresses, not PublicIpAddresses', async () => {
    const eipSite = addGatewaySite(fake, 2, { eip: '203.0.113.20' });
    const byPublic = await sdk.ecs.describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId: region, publicIpAddresses: JSON.stringify(['203.0.113.20']) }),
    );
    expect(byPublic.body?.totalCount).toBe(0);
    const byEip = await sdk.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region, eipAddresses: JSON.stringify(['203.0.113.20']) }));
    expect(byEip.body?.instances?.instance?.map((i) => [i.instanceId, i.eipAddress?.ipAddress])).toEqual([[eipSite.instanceId, '203.0.113.20']]);
  });

  it('filters by VpcId and InstanceIds and pages with PageNumber/PageSize/TotalCount', async () => {
    fake.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.1.1.11' });
    addGatewaySite(fake, 3, {});
    const byVpc = (pageNumber: number) =>
      sdk.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region, vpcId: site.vpcId, pageSize: 1, pageNumber }));
    const [p1, p2] = [await byVpc(1), await byVpc(2)];
    expect([p1.body?.totalCount, p1.body?.pageSize, p2.body?.pageNumber]).toEqual([2, 1, 2]);
    expect(new Set([p1.body?.instances?.instance?.[0]?.instanceId, p2.body?.instances?.instance?.[0]?.instanceId]).size).toBe(2);
    const byId = await sdk.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region, instanceIds: JSON.stringify([site.instanceId]) }));
    expect(byId.body?.instances?.instance?.map((i) => i.instanceId)).toEqual([site.instanceId]);
  });

  it('rejects a filter that is not a JSON array', async () => {
    const e = await sdkError(sdk.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region, publicIpAddresses: '198.51.100.10' })));
    expect(e).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
  });
});

describe('VPC describes (response models of @alicloud/vpc20160428)', () => {
  it('DescribeVpcs returns CidrBlock, SecondaryCidrBlocks and the vRouter', async () => {
    const vpc = (await sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region, vpcId: site.vpcId }))).body!.vpcs!.vpc![0]!;
    expect(vpc).toMatchObject({ vpcId: site.vpcId, cidrBlock: '10.1.0.0/16', status: 'Available' });
    // Surprise of the generated SDK: this one key keeps its PascalCase name.
    expect(vpc.VRouterId).toBe(site.vRouterId);
    expect(vpc.secondaryCidrBlocks?.secondaryCidrBlock).toEqual(['172.17.0.0/16']);
  });

  it('DescribeVSwitches returns the vSwitch with its route table', async () => {
    const res = await sdk.vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ regionId: region, vpcId: site.vpcId }));
    expect(res.body?.vSwitches?.vSwitch?.[0]).toMatchObject({ vSwitchId: site.vSwitchId, cidrBlock: '10.1.1.0/24', routeTable: { routeTableId: site.systemTableId } });
  });

  it('DescribeRouteTableList lists the system table and custom tables of a VPC, paged', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    addGatewaySite(fake, 4, {});
    const page = (pageNumber: number) =>
      sdk.vpc.describeRouteTableList(new $Vpc.DescribeRouteTableListRequest({ regionId: region, vpcId: site.vpcId, pageSize: 1, pageNumber }));
    const [p1, p2] = [await page(1), await page(2)];
    expect(p1.body?.totalCount).toBe(2);
    expect([...(p1.body?.routerTableList?.routerTableListType ?? []), ...(p2.body?.routerTableList?.routerTableListType ?? [])].map((t) => [t.routeTableId, t.routeTableType, t.vpcId])).toEqual([
      [site.systemTableId, 'System', site.vpcId],
      [custom.routeTableId, 'Custom', site.vpcId],
    ]);
  });

  it('DescribeRouteEntryList shows system routes (vSwitch, 100.64.0.0/10) and filters by destination', async () => {
    const all = (await sdk.vpc.describeRouteEntryList(listReq({ maxResult: 100 }))).body?.routeEntrys?.routeEntry ?? [];
    expect(all.map((e) => [e.destinationCidrBlock, e.type, e.status])).toEqual([
      ['10.1.1.0/24', 'System', 'Available'],
      ['100.64.0.0/10', 'System', 'Available'],
    ]);
    const one = await sdk.vpc.describeRouteEntryList(listReq({ destinationCidrBlock: '10.1.1.0/24' }));
    expect(one.body?.routeEntrys?.routeEntry).toHaveLength(1);
  });

  it('DescribeRouteEntryList pages with MaxResult/NextToken and refuses a bad token', async () => {
    for (let i = 0; i < 3; i++) fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: `192.168.${i}.0/24`, nextHopId: site.instanceId });
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const res = await sdk.vpc.describeRouteEntryList(listReq({ routeEntryType: 'Custom', maxResult: 2, nextToken }));
      seen.push(...(res.body?.routeEntrys?.routeEntry ?? []).map((e) => e.destinationCidrBlock!));
      nextToken = res.body?.nextToken || undefined;
    } while (nextToken);
    expect(seen).toEqual(['192.168.0.0/24', '192.168.1.0/24', '192.168.2.0/24']);
    expect((await sdkError(sdk.vpc.describeRouteEntryList(listReq({ nextToken: 'garbage' })))).code).toBe('IllegalParam.NextToken');
  });

  it('DescribeEipAddresses finds the EIP and its instance', async () => {
    const eipSite = addGatewaySite(fake, 5, { eip: '203.0.113.50' });
    const res = await sdk.vpc.describeEipAddresses(new $Vpc.DescribeEipAddressesRequest({ regionId: region, eipAddress: '203.0.113.50' }));
    expect(res.body?.eipAddresses?.eipAddress?.[0]).toMatchObject({ ipAddress: '203.0.113.50', instanceId: eipSite.instanceId, status: 'InUse' });
  });
});

describe('route entries are asynchronous and one change at a time (CreateRouteEntry/DeleteRouteEntry docs)', () => {
  it('CreateRouteEntry returns a RouteEntryId; the entry is Pending, then Available', async () => {
    const res = await sdk.vpc.createRouteEntry(createReq());
    expect(res.body?.routeEntryId).toMatch(/^rte-/);
    expect(await statusOf('192.168.10.0/24')).toBe('Pending');
    await available('192.168.10.0/24');
    const entry = (await sdk.vpc.describeRouteEntryList(listReq({ destinationCidrBlock: '192.168.10.0/24' }))).body!.routeEntrys!.routeEntry![0]!;
    expect(entry).toMatchObject({ routeEntryId: res.body?.routeEntryId, type: 'Custom' });
    expect(entry.nextHops?.nextHop?.[0]).toMatchObject({ nextHopType: 'Instance', nextHopId: site.instanceId });
  });

  it('refuses another write to the same table while an entry is Pending (IncorrectRouteEntryStatus), not to another table', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await sdk.vpc.createRouteEntry(createReq());
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.11.0/24' })))).toMatchObject({
      code: 'IncorrectRouteEntryStatus',
      statusCode: 400,
    });
    await sdk.vpc.createRouteEntry(createReq({ routeTableId: custom.routeTableId, destinationCidrBlock: '192.168.11.0/24' }));
    await available('192.168.10.0/24');
    await sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.11.0/24' }));
  });

  it('can scope the lock to the whole VPC, as the docs literally say', async () => {
    const strict = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 10_000, busyScope: 'vpc' });
    try {
      const s = addGatewaySite(strict, 1, {});
      const custom = strict.addRouteTable({ vpcId: s.vpcId });
      const c = sdkClients(strict, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
      await c.vpc.createRouteEntry(createReq({ routeTableId: s.systemTableId, nextHopId: s.instanceId }));
      const e = await sdkError(c.vpc.createRouteEntry(createReq({ routeTableId: custom.routeTableId, nextHopId: s.instanceId })));
      expect(e.code).toBe('IncorrectRouteEntryStatus');
    } finally {
      await strict.stop();
    }
  });

  it('fails a write that overlaps one in flight on the same table with OperationFailed.DistibuteLock', async () => {
    fake.injectFault({ api: 'CreateRouteEntry', latencyMs: 300 });
    const first = sdk.vpc.createRouteEntry(createReq());
    await new Promise((r) => setTimeout(r, 50));
    const second = await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.11.0/24' })));
    expect(second).toMatchObject({ code: 'OperationFailed.DistibuteLock', statusCode: 400 });
    expect((await first).statusCode).toBe(200);
  });

  it('DeleteRouteEntry: Deleting, then gone; busy while Deleting; missing -> InvalidRouteEntry.NotFound', async () => {
    await sdk.vpc.createRouteEntry(createReq());
    await available('192.168.10.0/24');
    const del = () =>
      sdk.vpc.deleteRouteEntry(
        new $Vpc.DeleteRouteEntryRequest({ regionId: region, routeTableId: site.systemTableId, destinationCidrBlock: '192.168.10.0/24', nextHopId: site.instanceId }),
      );
    await del();
    expect(await statusOf('192.168.10.0/24')).toBe('Deleting');
    expect((await sdkError(del())).code).toBe('IncorrectRouteEntryStatus');
    await eventually(async () => ((await statusOf('192.168.10.0/24')) === undefined ? true : undefined));
    expect(await sdkError(del())).toMatchObject({ code: 'InvalidRouteEntry.NotFound', statusCode: 400 });
  });

  it('DeleteRouteEntry with another next hop, by unknown id, or of a system route fails as documented', async () => {
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.20.0/24', nextHopId: 'i-someoneelse' });
    const del = (o: Partial<$Vpc.DeleteRouteEntryRequest>) => sdk.vpc.deleteRouteEntry(new $Vpc.DeleteRouteEntryRequest({ regionId: region, ...o }));
    expect((await sdkError(del({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.20.0/24', nextHopId: site.instanceId }))).code).toBe(
      'InvalidRouteEntry.NotFound',
    );
    expect((await sdkError(del({ routeEntryId: 'rte-doesnotexist' }))).code).toBe('InvalidRouteEntryId.NotFound');
    expect((await sdkError(del({ routeTableId: site.systemTableId, destinationCidrBlock: '10.1.1.0/24' }))).code).toBe('OperationDenied');
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(1);
  });

  it('ModifyRouteEntry moves the next hop through Modifying and answers TaskConflict while busy', async () => {
    const other = fake.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.1.1.20' });
    const id = (await sdk.vpc.createRouteEntry(createReq())).body!.routeEntryId!;
    const modify = () => sdk.vpc.modifyRouteEntry(new $Vpc.ModifyRouteEntryRequest({ regionId: region, routeEntryId: id, newNextHopId: other.instanceId, newNextHopType: 'Instance' }));
    expect((await sdkError(modify())).code).toBe('TaskConflict');
    await available('192.168.10.0/24');
    await modify();
    expect(await statusOf('192.168.10.0/24')).toBe('Modifying');
    await available('192.168.10.0/24');
    expect(fake.routeEntries(site.systemTableId)[0]?.nextHopId).toBe(other.instanceId);
  });
});

describe('duplicates and ClientToken idempotence (https://www.alibabacloud.com/help/doc-detail/36569.htm)', () => {
  it('a second entry for the same destination is InvalidCIDRBlock.Duplicate; over a learned route RouteConflict.AlreadyExist', async () => {
    await sdk.vpc.createRouteEntry(createReq());
    await available('192.168.10.0/24');
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq()))).toMatchObject({ code: 'InvalidCIDRBlock.Duplicate', statusCode: 400 });
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.30.0/24', nextHopId: 'tr-attach', nextHopType: 'Attachment', type: 'CEN' });
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.30.0/24' })))).code).toBe('RouteConflict.AlreadyExist');
  });

  it('the same ClientToken with the same parameters returns the original RouteEntryId and creates nothing', async () => {
    const first = await sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-1' }));
    const again = await sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-1' }));
    expect(again.body?.routeEntryId).toBe(first.body?.routeEntryId);
    expect(again.body?.requestId).not.toBe(first.body?.requestId);
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(1);
  });

  it('the same ClientToken with other parameters is IdempotentParameterMismatch', async () => {
    await sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-2' }));
    const e = await sdkError(sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-2', destinationCidrBlock: '192.168.99.0/24' })));
    expect(e).toMatchObject({ code: 'IdempotentParameterMismatch', statusCode: 400 });
  });

  it('a token whose first request is still being processed is LastTokenProcessing', async () => {
    fake.injectFault({ api: 'CreateRouteEntry', latencyMs: 300 });
    const first = sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-3' }));
    await new Promise((r) => setTimeout(r, 50));
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-3' })))).toMatchObject({ code: 'LastTokenProcessing', statusCode: 403 });
    await first;
  });

  it('a failed request does not consume its token: the retry is processed anew', async () => {
    fake.injectFault({ api: 'CreateRouteEntry', status: 503 });
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-4' })))).code).toBe('ServiceUnavailable');
    expect((await sdk.vpc.createRouteEntry(createReq({ clientToken: 'tok-4' }))).body?.routeEntryId).toMatch(/^rte-/);
  });
});

describe('permanent CreateRouteEntry errors (CreateRouteEntry error-code table)', () => {
  it('QuotaExceeded past the custom-entry quota', async () => {
    const small = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 0, routeQuota: 2 });
    try {
      const s = addGatewaySite(small, 1, {});
      const c = sdkClients(small, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
      const add = (n: number) => c.vpc.createRouteEntry(createReq({ routeTableId: s.systemTableId, nextHopId: s.instanceId, destinationCidrBlock: `192.168.${n}.0/24` }));
      await add(1);
      await add(2);
      expect(await sdkError(add(3))).toMatchObject({ code: 'QuotaExceeded', statusCode: 400 });
    } finally {
      await small.stop();
    }
  });

  it('InvalidCidrBlock.Malformed for text that is not a CIDR; a bare IP means /32', async () => {
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.1/24' })))).code).toBe('InvalidCidrBlock.Malformed');
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.1.5/24' })))).code).toBe('InvalidCidrBlock.Malformed');
    await sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '192.168.7.7' }));
    expect(fake.routeEntries(site.systemTableId)[0]?.destinationCidrBlock).toBe('192.168.7.7/32');
  });

  it('InvalidCidrBlock for 100.64.0.0/10 and for a vSwitch CIDR or part of it; a supernet is allowed', async () => {
    for (const cidr of ['100.64.0.0/10', '100.100.0.0/16', '10.1.1.0/24', '10.1.1.128/25']) {
      expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: cidr })))).code).toBe('InvalidCidrBlock');
    }
    await sdk.vpc.createRouteEntry(createReq({ destinationCidrBlock: '10.1.0.0/20' }));
  });

  it('InvalidRouteTableId.NotFound, InvalidNextHopId.NotFound, OperationFailed.InstanceDismatchCurrentVpc (404)', async () => {
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq({ routeTableId: 'vtb-nope' })))).toMatchObject({ code: 'InvalidRouteTableId.NotFound', statusCode: 404 });
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq({ nextHopId: 'i-nope' })))).toMatchObject({ code: 'InvalidNextHopId.NotFound', statusCode: 404 });
    const elsewhere = addGatewaySite(fake, 6, {});
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq({ nextHopId: elsewhere.instanceId })))).toMatchObject({
      code: 'OperationFailed.InstanceDismatchCurrentVpc',
      statusCode: 404,
    });
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ nextHopType: 'Teleporter' })))).code).toBe('InvalidNextHopType');
  });

  it('DryRun validates without creating (DryRunOperation)', async () => {
    expect((await sdkError(sdk.vpc.createRouteEntry(createReq({ dryRun: true })))).code).toBe('DryRunOperation');
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(0);
  });
});

describe('flow control: Throttling.User (400) per API, per second and per minute', () => {
  it('throttles the call past the per-second budget of that API only, and logs every call', async () => {
    fake.setLimits({ perApi: { DescribeVpcs: { perSecond: 2 } } });
    const call = () => sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
    await call();
    await call();
    const e = await sdkError(call());
    expect(e).toMatchObject({ name: 'ThrottlingError', code: 'Throttling.User', statusCode: 400 });
    await sdk.vpc.describeRouteTableList(new $Vpc.DescribeRouteTableListRequest({ regionId: region }));
    expect(fake.calls.filter((c) => c.api === 'DescribeVpcs').map((c) => c.code ?? 'ok')).toEqual(['ok', 'ok', 'Throttling.User']);
    expect(fake.maxRate('DescribeVpcs')).toBe(3);
    expect(fake.maxRate('DescribeRouteTableList')).toBe(1);
  });

  it('applies the default budget to each API separately and per minute; can send x-acs-retry-after', async () => {
    const limited = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, limits: { default: { perMinute: 1 } }, sendRetryAfter: true });
    try {
      const c = sdkClients(limited, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
      await c.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
      await c.ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: region }));
      const e = await sdkError(c.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region })));
      expect(e.code).toBe('Throttling.User');
      expect(e.retryAfter).toBeGreaterThan(50_000);
    } finally {
      await limited.stop();
    }
  });

  it('maxRate finds the busiest window', async () => {
    for (let i = 0; i < 3; i++) {
      await sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(fake.maxRate('DescribeVpcs', 60_000)).toBe(3);
    expect(fake.maxRate('DescribeVpcs', 10)).toBe(1);
  });
});

describe('security groups (AuthorizeSecurityGroup/RevokeSecurityGroup reference and SDK remarks)', () => {
  const perms = (ports: string[], o: Partial<$Ecs.AuthorizeSecurityGroupRequestPermissions> = {}) =>
    ports.map((portRange) => new $Ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'UDP', portRange, sourceCidrIp: '203.0.113.5/32', policy: 'accept', description: 'ipsec peer', ...o }));
  const authorize = (p: $Ecs.AuthorizeSecurityGroupRequestPermissions[], sg = site.securityGroupId) =>
    sdk.ecs.authorizeSecurityGroup(new $Ecs.AuthorizeSecurityGroupRequest({ regionId: region, securityGroupId: sg, permissions: p }));
  const revoke = (o: Partial<$Ecs.RevokeSecurityGroupRequest>) =>
    sdk.ecs.revokeSecurityGroup(new $Ecs.RevokeSecurityGroupRequest({ regionId: region, securityGroupId: site.securityGroupId, ...o }));

  it('adds several rules in one call through Permissions; an existing rule is success without a new rule', async () => {
    await authorize(perms(['500/500', '4500/4500']));
    await authorize(perms(['500/500'], { description: 'another text' }));
    const rules = fake.securityGroupRules(site.securityGroupId);
    expect(rules.map((r) => [r.ipProtocol, r.portRange, r.sourceCidrIp, r.policy, r.description])).toEqual([
      ['UDP', '500/500', '203.0.113.5/32', 'Accept', 'ipsec peer'],
      ['UDP', '4500/4500', '203.0.113.5/32', 'Accept', 'ipsec peer'],
    ]);
    const attr = await sdk.ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: region, securityGroupId: site.securityGroupId }));
    expect(attr.body?.permissions?.permission?.map((p) => [p.portRange, p.direction, p.priority])).toEqual([
      ['500/500', 'ingress', '1'],
      ['4500/4500', 'ingress', '1'],
    ]);
  });

  it('refuses ESP and other protocols (InvalidIpProtocol.ValueNotSupported), bad ports and a missing source', async () => {
    expect(await sdkError(authorize(perms(['-1/-1'], { ipProtocol: 'ESP' })))).toMatchObject({ code: 'InvalidIpProtocol.ValueNotSupported', statusCode: 400 });
    expect((await sdkError(authorize(perms(['0/500'])))).code).toBe('InvalidIpProtocol.Malformed');
    expect((await sdkError(authorize(perms(['500/500'], { ipProtocol: 'ICMP' })))).code).toBe('OperationDenied');
    expect((await sdkError(authorize(perms(['500/500'], { sourceCidrIp: undefined })))).code).toBe('MissingParameter.Source');
    expect((await sdkError(authorize(perms(['500/500'], { sourceCidrIp: '203.0.113.999' })))).code).toBe('InvalidSourceCidrIp.Malformed');
    expect(await sdkError(authorize(perms(['500/500']), 'sg-nope'))).toMatchObject({ code: 'InvalidSecurityGroupId.NotFound', statusCode: 404 });
    expect(fake.securityGroupRules(site.securityGroupId)).toEqual([]);
  });

  it('revokes by Permissions (missing rule = success) and by rule id (missing id = InvalidParam.SecurityGroupRuleId)', async () => {
    await authorize(perms(['500/500', '4500/4500']));
    await revoke({ permissions: perms(['500/500']).map((p) => new $Ecs.RevokeSecurityGroupRequestPermissions({ ...p })) });
    await revoke({ permissions: perms(['500/500']).map((p) => new $Ecs.RevokeSecurityGroupRequestPermissions({ ...p })) });
    const left = fake.securityGroupRules(site.securityGroupId);
    expect(left.map((r) => r.portRange)).toEqual(['4500/4500']);
    expect((await sdkError(revoke({ securityGroupRuleId: ['sgr-nope'] }))).code).toBe('InvalidParam.SecurityGroupRuleId');
    await revoke({ securityGroupRuleId: [left[0]!.securityGroupRuleId] });
    expect(fake.securityGroupRules(site.securityGroupId)).toEqual([]);
  });

  it('accepts 0.0.0.0/0 (every IPv4 source) and ::/0 (every IPv6 source), and revokes them by Permissions', async () => {
    await authorize([...perms(['500/500'], { sourceCidrIp: '0.0.0.0/0' }), ...perms(['500/500'], { sourceCidrIp: undefined, ipv6SourceCidrIp: '::/0' })]);
    await authorize(perms(['500/500'], { sourceCidrIp: '0.0.0.0/0' }));
    const attr = await sdk.ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: region, securityGroupId: site.securityGroupId }));
    expect(attr.body?.permissions?.permission?.map((p) => [p.sourceCidrIp, p.ipv6SourceCidrIp])).toEqual([
      ['0.0.0.0/0', ''],
      ['', '::/0'],
    ]);
    await revoke({ permissions: perms(['500/500'], { sourceCidrIp: '0.0.0.0/0' }).map((p) => new $Ecs.RevokeSecurityGroupRequestPermissions({ ...p })) });
    expect(fake.securityGroupRules(site.securityGroupId).map((r) => r.ipv6SourceCidrIp)).toEqual(['::/0']);
  });

  it('each source field takes its own family; both at once is InvalidParam.SourceIp; CIDRs are checked', async () => {
    const v6only = (ipv6SourceCidrIp: string) => perms(['500/500'], { sourceCidrIp: undefined, ipv6SourceCidrIp });
    // An IPv6 value in SourceCidrIp: InvalidParam.SourceCidrIp, as a user of the real API reported it.
    for (const bad of ['::/0', '2001:db8::7']) {
      expect(await sdkError(authorize(perms(['500/500'], { sourceCidrIp: bad }))), bad).toMatchObject({ code: 'InvalidParam.SourceCidrIp', statusCode: 400 });
    }
    for (const bad of ['0.0.0.0/33', '203.0.113.5/', '0.0.0.0/-1']) {
      expect(await sdkError(authorize(perms(['500/500'], { sourceCidrIp: bad }))), bad).toMatchObject({ code: 'InvalidSourceCidrIp.Malformed', statusCode: 400 });
    }
    for (const bad of ['0.0.0.0/0', '203.0.113.5', '::/129', '2001:db8::/']) {
      expect(await sdkError(authorize(v6only(bad))), bad).toMatchObject({ code: 'InvalidParam.Ipv6SourceCidrIp', statusCode: 400 });
    }
    expect(await sdkError(authorize(perms(['500/500'], { sourceCidrIp: '0.0.0.0/0', ipv6SourceCidrIp: '::/0' })))).toMatchObject({ code: 'InvalidParam.SourceIp', statusCode: 400 });
    // Revoking checks the same way (RevokeSecurityGroup documents the same codes).
    const revokeBad = new $Ecs.RevokeSecurityGroupRequestPermissions({ ...v6only('0.0.0.0/0')[0]! });
    expect((await sdkError(revoke({ permissions: [revokeBad] }))).code).toBe('InvalidParam.Ipv6SourceCidrIp');
    expect(fake.securityGroupRules(site.securityGroupId)).toEqual([]);
  });

  it('AuthorizationLimitExceed (403) when the group is full', async () => {
    const tiny = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, sgRuleQuota: 1 });
    try {
      const s = addGatewaySite(tiny, 1, {});
      const c = sdkClients(tiny, { accessKeyId: 'AK', accessKeySecret: 'SECRET' });
      const e = await sdkError(c.ecs.authorizeSecurityGroup(new $Ecs.AuthorizeSecurityGroupRequest({ regionId: region, securityGroupId: s.securityGroupId, permissions: perms(['500/500', '4500/4500']) })));
      expect(e).toMatchObject({ code: 'AuthorizationLimitExceed', statusCode: 403 });
    } finally {
      await tiny.stop();
    }
  });
});

describe('injected faults', () => {
  it('5xx with ServiceUnavailable / InternalError, a given number of times, for one API', async () => {
    fake.injectFault({ api: 'DescribeVpcs', status: 503, times: 2 });
    fake.injectFault({ api: 'DescribeVSwitches', status: 500 });
    const vpcs = () => sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
    expect(await sdkError(vpcs())).toMatchObject({ name: 'ServerError', code: 'ServiceUnavailable', statusCode: 503 });
    expect((await sdkError(vpcs())).code).toBe('ServiceUnavailable');
    expect((await vpcs()).statusCode).toBe(200);
    expect(await sdkError(sdk.vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ regionId: region })))).toMatchObject({ code: 'InternalError', statusCode: 500 });
  });

  it('any documented code (busy codes included) and added latency', async () => {
    fake.injectFault({ api: 'CreateRouteEntry', code: 'IncorrectStatus.RouteTableStatus' });
    expect(await sdkError(sdk.vpc.createRouteEntry(createReq()))).toMatchObject({ code: 'IncorrectStatus.RouteTableStatus', statusCode: 400 });
    fake.injectFault({ api: 'DescribeVpcs', latencyMs: 120 });
    const t0 = Date.now();
    await sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('reset() forgets resources, calls and faults', async () => {
    fake.injectFault({ status: 500, times: Infinity });
    fake.reset();
    expect(fake.calls).toHaveLength(0);
    expect((await sdk.vpc.describeVpcs(new $Vpc.DescribeVpcsRequest({ regionId: region }))).body?.totalCount).toBe(0);
  });
});
