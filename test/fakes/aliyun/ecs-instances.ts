// ECS DescribeInstances with the filters the controller uses to find a gateway from its address:
// PublicIpAddresses and EipAddresses (JSON arrays of up to 100 addresses), VpcId, InstanceIds, ...
// Field names follow @alicloud/ecs20140526's DescribeInstancesResponseBody.
import type { ApiHandler } from './context';
import { inRegion, page } from './context';
import type { InstanceRecord } from './model';

function instanceJson(i: InstanceRecord): Record<string, unknown> {
  return {
    InstanceId: i.instanceId,
    InstanceName: i.name,
    RegionId: i.regionId,
    ZoneId: i.zoneId,
    Status: i.status,
    InstanceNetworkType: 'vpc',
    InstanceType: 'ecs.g7.large',
    VpcAttributes: { VpcId: i.vpcId, VSwitchId: i.vSwitchId, PrivateIpAddress: { IpAddress: [i.privateIp] }, NatIpAddress: '' },
    PublicIpAddress: { IpAddress: i.publicIp ? [i.publicIp] : [] },
    EipAddress: { IpAddress: i.eip?.ipAddress ?? '', AllocationId: i.eip?.allocationId ?? '', Bandwidth: i.eip ? 5 : 0, InternetChargeType: '' },
    InnerIpAddress: { IpAddress: [] },
    SecurityGroupIds: { SecurityGroupId: [...i.securityGroupIds] },
    NetworkInterfaces: {
      NetworkInterface: [
        {
          NetworkInterfaceId: i.eniId,
          Type: 'Primary',
          PrimaryIpAddress: i.privateIp,
          PrivateIpSets: { PrivateIpSet: [{ PrivateIpAddress: i.privateIp, Primary: true }] },
        },
      ],
    },
  };
}

const describeInstances: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    p.require('RegionId');
    const lists = {
      ids: p.jsonArray('InstanceIds'),
      publicIps: p.jsonArray('PublicIpAddresses'),
      eips: p.jsonArray('EipAddresses'),
      privateIps: p.jsonArray('PrivateIpAddresses'),
    };
    const scalar = {
      vpcId: p.get('VpcId'),
      vSwitchId: p.get('VSwitchId'),
      sg: p.get('SecurityGroupId'),
      status: p.get('Status'),
      zoneId: p.get('ZoneId'),
    };
    const has = (list: string[] | undefined, v: string | undefined): boolean => list === undefined || (v !== undefined && list.includes(v));
    const is = (want: string | undefined, v: string): boolean => want === undefined || want === v;
    const found = [...ctx.cloud.instances.values()].filter(
      (i) =>
        inRegion(p, i.regionId) &&
        has(lists.ids, i.instanceId) &&
        has(lists.publicIps, i.publicIp) &&
        has(lists.eips, i.eip?.ipAddress) &&
        has(lists.privateIps, i.privateIp) &&
        is(scalar.vpcId, i.vpcId) &&
        is(scalar.vSwitchId, i.vSwitchId) &&
        is(scalar.status, i.status) &&
        is(scalar.zoneId, i.zoneId) &&
        (scalar.sg === undefined || i.securityGroupIds.includes(scalar.sg)),
    );
    const { slice, ...paging } = page(p, found, 100);
    return { ...paging, NextToken: '', Instances: { Instance: slice.map(instanceJson) } };
  },
};

export const ecsInstanceHandlers: Record<string, ApiHandler> = { DescribeInstances: describeInstances };
