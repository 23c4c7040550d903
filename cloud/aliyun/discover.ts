// Finds a gateway's instance and network from its public address: the operator never types a
// VpcId or RouteTableId. Read-only calls: DescribeInstances (by public IP, then by EIP),
// DescribeVpcs, DescribeRouteTableList (every page).
import { isIP } from 'node:net';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { CloudError, type DiscoveredGateway } from '../types';
import type { AliyunClients } from './clients';
import { call } from './errors';
import { retryRead } from '../read-retry';

type Instance = $Ecs.DescribeInstancesResponseBodyInstancesInstance;

async function instancesBy(c: AliyunClients, filter: 'publicIpAddresses' | 'eipAddresses', ip: string): Promise<Instance[]> {
  const req = new $Ecs.DescribeInstancesRequest({ regionId: c.regionId, [filter]: JSON.stringify([ip]), pageSize: 10 });
  const res = await retryRead(() => call('DescribeInstances', () => c.ecs.describeInstances(req)));
  return res.body?.instances?.instance ?? [];
}

async function vpcCidrs(c: AliyunClients, vpcId: string): Promise<string[]> {
  const req = new $Vpc.DescribeVpcsRequest({ regionId: c.regionId, vpcId });
  const res = await retryRead(() => call('DescribeVpcs', () => c.vpc.describeVpcs(req)));
  const vpc = res.body?.vpcs?.vpc?.find((v) => v.vpcId === vpcId);
  if (!vpc?.cidrBlock) throw new CloudError('not_found', `aliyun: VPC ${vpcId} not found in ${c.regionId}`);
  return [vpc.cidrBlock, ...(vpc.secondaryCidrBlocks?.secondaryCidrBlock ?? [])];
}

async function routeTables(c: AliyunClients, vpcId: string): Promise<string[]> {
  const ids: string[] = [];
  const pageSize = 50;
  for (let pageNumber = 1; ; pageNumber++) {
    const req = new $Vpc.DescribeRouteTableListRequest({ regionId: c.regionId, vpcId, pageNumber, pageSize });
    const res = await retryRead(() => call('DescribeRouteTableList', () => c.vpc.describeRouteTableList(req)));
    const page = res.body?.routerTableList?.routerTableListType ?? [];
    for (const t of page) if (t.routeTableId) ids.push(t.routeTableId);
    const total = res.body?.totalCount ?? 0;
    if (page.length < pageSize || ids.length >= total) return ids;
  }
}

export async function discover(c: AliyunClients, publicIp: string): Promise<DiscoveredGateway> {
  if (!isIP(publicIp)) throw new CloudError('invalid', `"${publicIp}" is not an IP address`);
  let found = await instancesBy(c, 'publicIpAddresses', publicIp);
  if (found.length === 0) found = await instancesBy(c, 'eipAddresses', publicIp);
  if (found.length === 0) throw new CloudError('not_found', `aliyun: no instance in ${c.regionId} has public IP or EIP ${publicIp}`);
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
  const cidrs = await vpcCidrs(c, vpcAttr.vpcId);
  const routeTableIds = await routeTables(c, vpcAttr.vpcId);
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
