// VPC read APIs: DescribeVpcs, DescribeVSwitches, DescribeRouteTableList, DescribeEipAddresses.
// Field names follow the response models of @alicloud/vpc20160428 (the SDK maps PascalCase keys to
// its camelCase properties, so a misspelt key silently becomes undefined in the client).
import type { ApiHandler, HandlerContext } from './context';
import { inRegion, page } from './context';
import type { RouteTableRecord, VpcRecord } from './model';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function vpcJson(ctx: HandlerContext, v: VpcRecord): Record<string, unknown> {
  return {
    VpcId: v.vpcId,
    RegionId: v.regionId,
    Status: 'Available',
    VpcName: v.name,
    CidrBlock: v.cidrBlock,
    SecondaryCidrBlocks: { SecondaryCidrBlock: [...v.secondaryCidrs] },
    UserCidrs: { UserCidr: [] },
    VRouterId: v.vRouterId,
    VSwitchIds: { VSwitchId: ctx.cloud.vSwitchesOfVpc(v.vpcId).map((s) => s.vSwitchId) },
    RouterTableIds: { RouterTableIds: ctx.cloud.tablesOfVpc(v.vpcId).map((t) => t.routeTableId) },
    IsDefault: false,
    CreationTime: iso(v.createdAt),
    Description: '',
  };
}

const describeVpcs: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    p.require('RegionId');
    const ids = p.get('VpcId')?.split(',').map((s) => s.trim());
    const vpcs = [...ctx.cloud.vpcs.values()].filter((v) => inRegion(p, v.regionId) && (!ids || ids.includes(v.vpcId)));
    const { slice, ...paging } = page(p, vpcs, 50);
    return { ...paging, Vpcs: { Vpc: slice.map((v) => vpcJson(ctx, v)) } };
  },
};

const describeVSwitches: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    const want = { VpcId: p.get('VpcId'), VSwitchId: p.get('VSwitchId'), ZoneId: p.get('ZoneId') };
    const list = [...ctx.cloud.vSwitches.values()].filter(
      (s) =>
        inRegion(p, s.regionId) &&
        (want.VpcId === undefined || s.vpcId === want.VpcId) &&
        (want.VSwitchId === undefined || s.vSwitchId === want.VSwitchId) &&
        (want.ZoneId === undefined || s.zoneId === want.ZoneId),
    );
    const { slice, ...paging } = page(p, list, 50);
    return {
      ...paging,
      VSwitches: {
        VSwitch: slice.map((s) => ({
          VSwitchId: s.vSwitchId,
          VpcId: s.vpcId,
          ZoneId: s.zoneId,
          CidrBlock: s.cidrBlock,
          Status: 'Available',
          VSwitchName: '',
          AvailableIpAddressCount: 250,
          RouteTable: { RouteTableId: s.routeTableId, RouteTableType: ctx.cloud.routeTables.get(s.routeTableId)?.type ?? 'System' },
        })),
      },
    };
  },
};

function tableJson(ctx: HandlerContext, t: RouteTableRecord): Record<string, unknown> {
  return {
    RouteTableId: t.routeTableId,
    RouteTableType: t.type,
    RouteTableName: t.name,
    RouterId: t.vRouterId,
    RouterType: 'VRouter',
    VpcId: t.vpcId,
    Status: 'Available',
    AssociateType: 'VSwitch',
    CreationTime: iso(t.createdAt),
    Description: '',
    VSwitchIds: { VSwitchId: [...ctx.cloud.vSwitches.values()].filter((s) => s.routeTableId === t.routeTableId).map((s) => s.vSwitchId) },
  };
}

const describeRouteTableList: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    p.require('RegionId');
    const want = {
      vpcId: p.get('VpcId'),
      routeTableId: p.get('RouteTableId'),
      routerId: p.get('RouterId'),
      type: p.get('RouteTableType'),
      name: p.get('RouteTableName'),
    };
    const tables = [...ctx.cloud.routeTables.values()]
      .filter(
        (t) =>
          inRegion(p, t.regionId) &&
          (want.vpcId === undefined || t.vpcId === want.vpcId) &&
          (want.routeTableId === undefined || t.routeTableId === want.routeTableId) &&
          (want.routerId === undefined || t.vRouterId === want.routerId) &&
          (want.type === undefined || t.type === want.type) &&
          (want.name === undefined || t.name === want.name),
      )
      // The system table first, then custom tables in creation order.
      .sort((a, b) => (a.type === b.type ? a.createdAt - b.createdAt : a.type === 'System' ? -1 : 1));
    const { slice, ...paging } = page(p, tables, 50);
    return { ...paging, RouterTableList: { RouterTableListType: slice.map((t) => tableJson(ctx, t)) } };
  },
};

const describeEipAddresses: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    p.require('RegionId');
    const ip = p.get('EipAddress');
    const allocationId = p.get('AllocationId');
    const eips = [...ctx.cloud.instances.values()]
      .filter((i) => i.eip && inRegion(p, i.regionId))
      .filter((i) => (ip === undefined || i.eip!.ipAddress === ip) && (allocationId === undefined || i.eip!.allocationId === allocationId));
    const { slice, ...paging } = page(p, eips, 100);
    return {
      ...paging,
      EipAddresses: {
        EipAddress: slice.map((i) => ({
          IpAddress: i.eip!.ipAddress,
          AllocationId: i.eip!.allocationId,
          InstanceId: i.instanceId,
          InstanceType: 'EcsInstance',
          InstanceRegionId: i.regionId,
          RegionId: i.regionId,
          VpcId: i.vpcId,
          Status: 'InUse',
        })),
      },
    };
  },
};

export const vpcDescribeHandlers: Record<string, ApiHandler> = {
  DescribeVpcs: describeVpcs,
  DescribeVSwitches: describeVSwitches,
  DescribeRouteTableList: describeRouteTableList,
  DescribeEipAddresses: describeEipAddresses,
};
