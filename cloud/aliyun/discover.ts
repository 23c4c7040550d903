// Finds a gateway's instance and network from its public address: the operator never types a
// VpcId or RouteTableId. Read-only calls: DescribeInstances (by public IP, then by EIP),
// DescribeVpcs, DescribeRouteTableList (every page).
import { isIP } from 'node:net';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { CloudError, type DiscoverOptions, type DiscoveredGateway } from '../types';
import type { AliyunClients } from './clients';
import { call } from './errors';
import { retryRead } from '../read-retry';

type Instance = $Ecs.DescribeInstancesResponseBodyInstancesInstance;

/** One read: waits for its turn (the caller's budget slot), then calls; a throttled read is retried the same way. */
type Read = <T>(api: string, request: () => Promise<T>) => Promise<T>;

function reader(options: DiscoverOptions): Read {
  const beforeCall = options.beforeCall ?? (async () => undefined);
  return (api, request) =>
    retryRead(async () => {
      await beforeCall();
      return call(api, request);
    });
}

async function instancesBy(clients: AliyunClients, read: Read, filter: 'publicIpAddresses' | 'eipAddresses', ip: string): Promise<Instance[]> {
  const req = new $Ecs.DescribeInstancesRequest({ regionId: clients.regionId, [filter]: JSON.stringify([ip]), pageSize: 10 });
  const res = await read('DescribeInstances', () => clients.ecs.describeInstances(req));
  return res.body?.instances?.instance ?? [];
}

async function vpcCidrs(clients: AliyunClients, read: Read, vpcId: string): Promise<string[]> {
  const req = new $Vpc.DescribeVpcsRequest({ regionId: clients.regionId, vpcId });
  const res = await read('DescribeVpcs', () => clients.vpc.describeVpcs(req));
  const vpc = res.body?.vpcs?.vpc?.find((v) => v.vpcId === vpcId);
  if (!vpc?.cidrBlock) throw new CloudError('not_found', `aliyun: VPC ${vpcId} not found in ${clients.regionId}`);
  return [vpc.cidrBlock, ...(vpc.secondaryCidrBlocks?.secondaryCidrBlock ?? [])];
}

async function routeTables(clients: AliyunClients, read: Read, vpcId: string): Promise<string[]> {
  const ids: string[] = [];
  const pageSize = 50;
  for (let pageNumber = 1; ; pageNumber++) {
    const req = new $Vpc.DescribeRouteTableListRequest({ regionId: clients.regionId, vpcId, pageNumber, pageSize });
    const res = await read('DescribeRouteTableList', () => clients.vpc.describeRouteTableList(req));
    const page = res.body?.routerTableList?.routerTableListType ?? [];
    for (const table of page) if (table.routeTableId) ids.push(table.routeTableId);
    const total = res.body?.totalCount ?? 0;
    if (page.length < pageSize || ids.length >= total) return ids;
  }
}

/** Up to four reads, one after another: DescribeInstances by public IP, then by EIP, DescribeVpcs, DescribeRouteTableList (per page). */
export async function discover(clients: AliyunClients, publicIp: string, options: DiscoverOptions = {}): Promise<DiscoveredGateway> {
  if (!isIP(publicIp)) throw new CloudError('invalid', `"${publicIp}" is not an IP address`);
  const read = reader(options);
  let found = await instancesBy(clients, read, 'publicIpAddresses', publicIp);
  if (found.length === 0) found = await instancesBy(clients, read, 'eipAddresses', publicIp);
  if (found.length === 0) throw new CloudError('not_found', `aliyun: no instance in ${clients.regionId} has public IP or EIP ${publicIp}`);
  if (found.length > 1) {
    const ids = found.map((i) => i.instanceId).join(', ');
    throw new CloudError('invalid', `aliyun: several instances have ${publicIp} (${ids}); give the gateway's own address`);
  }
  const inst = found[0]!;
  const vpcAttr = inst.vpcAttributes;
  const privateIp = vpcAttr?.privateIpAddress?.ipAddress?.[0];
  if (!inst.instanceId || !vpcAttr?.vpcId || !vpcAttr.vSwitchId || !privateIp) {
    throw new CloudError('invalid', `aliyun: instance ${inst.instanceId ?? '?'} is not in a VPC (classic network is not supported)`);
  }
  const cidrs = await vpcCidrs(clients, read, vpcAttr.vpcId);
  const routeTableIds = await routeTables(clients, read, vpcAttr.vpcId);
  return {
    instanceId: inst.instanceId,
    privateIp,
    publicIp,
    vpcId: vpcAttr.vpcId,
    subnetId: vpcAttr.vSwitchId,
    vpcCidrs: cidrs,
    routeTableIds,
    securityGroupIds: inst.securityGroupIds?.securityGroupId ?? [],
  };
}
