// Test-side setup of the fake cloud (what an operator would have created in the console): VPCs with
// their system route table, vSwitches, custom tables, security groups, instances, foreign routes.
// Misuse throws a plain Error at once, so a broken fixture fails loudly instead of as an API error.
import { isIPv4 } from 'node:net';
import { contains, parseCidr } from '../../../lib/cidr';
import {
  newId,
  type EntryStatus,
  type EntryType,
  type FakeCloud,
  type InstanceRecord,
  type RouteEntryRecord,
  type RouteTableRecord,
  type SecurityGroupRecord,
  type VpcRecord,
  type VSwitchRecord,
} from './model';

export interface AddVpc {
  regionId?: string;
  vpcId?: string;
  cidrBlock: string;
  secondaryCidrs?: string[];
  name?: string;
}
export interface AddVSwitch {
  vpcId: string;
  cidrBlock: string;
  vSwitchId?: string;
  zoneId?: string;
  /** Associate with this custom table instead of the system table. */
  routeTableId?: string;
}
export interface AddRouteTable {
  vpcId: string;
  routeTableId?: string;
  name?: string;
}
export interface AddSecurityGroup {
  vpcId: string;
  securityGroupId?: string;
  name?: string;
}
export interface AddInstance {
  vpcId: string;
  vSwitchId: string;
  privateIp: string;
  instanceId?: string;
  publicIp?: string;
  /** An EIP bound to the instance (shown in EipAddress, found by EipAddresses). */
  eip?: string;
  securityGroupIds?: string[];
  name?: string;
  status?: string;
}
export interface AddRouteEntry {
  routeTableId: string;
  destinationCidrBlock: string;
  nextHopId: string;
  nextHopType?: string;
  /** Custom (default) or a learned route type (BGP, CEN, ECR). */
  type?: Exclude<EntryType, 'System'>;
  status?: EntryStatus;
  /** For a transitional status: how long it lasts. */
  forMs?: number;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`fake seed: unknown ${what}`);
  return value;
}

export function addVpc(cloud: FakeCloud, o: AddVpc, defaultRegion: string, now: number): VpcRecord & { routeTableId: string } {
  for (const c of [o.cidrBlock, ...(o.secondaryCidrs ?? [])]) parseCidr(c);
  const vpc: VpcRecord = {
    vpcId: o.vpcId ?? newId('vpc'),
    regionId: o.regionId ?? defaultRegion,
    cidrBlock: o.cidrBlock,
    secondaryCidrs: [...(o.secondaryCidrs ?? [])],
    vRouterId: newId('vrt'),
    name: o.name ?? '',
    createdAt: now,
  };
  cloud.vpcs.set(vpc.vpcId, vpc);
  // Every VPC comes with its system route table.
  const table: RouteTableRecord = {
    routeTableId: newId('vtb'),
    vpcId: vpc.vpcId,
    regionId: vpc.regionId,
    type: 'System',
    vRouterId: vpc.vRouterId,
    name: '',
    createdAt: now,
  };
  cloud.routeTables.set(table.routeTableId, table);
  return { ...vpc, routeTableId: table.routeTableId };
}

export function addRouteTable(cloud: FakeCloud, o: AddRouteTable, now: number): RouteTableRecord {
  const vpc = need(cloud.vpcs.get(o.vpcId), `VPC ${o.vpcId}`);
  const table: RouteTableRecord = {
    routeTableId: o.routeTableId ?? newId('vtb'),
    vpcId: vpc.vpcId,
    regionId: vpc.regionId,
    type: 'Custom',
    vRouterId: vpc.vRouterId,
    name: o.name ?? '',
    createdAt: now,
  };
  cloud.routeTables.set(table.routeTableId, table);
  return table;
}

export function addVSwitch(cloud: FakeCloud, o: AddVSwitch): VSwitchRecord {
  const vpc = need(cloud.vpcs.get(o.vpcId), `VPC ${o.vpcId}`);
  const cidr = parseCidr(o.cidrBlock);
  if (![vpc.cidrBlock, ...vpc.secondaryCidrs].some((c) => contains(parseCidr(c), cidr))) {
    throw new Error(`fake seed: vSwitch ${o.cidrBlock} is outside VPC ${vpc.vpcId}`);
  }
  const system = need(cloud.tablesOfVpc(vpc.vpcId).find((t) => t.type === 'System'), `system table of ${vpc.vpcId}`);
  const vsw: VSwitchRecord = {
    vSwitchId: o.vSwitchId ?? newId('vsw'),
    vpcId: vpc.vpcId,
    regionId: vpc.regionId,
    zoneId: o.zoneId ?? `${vpc.regionId}-a`,
    cidrBlock: cidr.text,
    routeTableId: o.routeTableId ?? system.routeTableId,
  };
  cloud.vSwitches.set(vsw.vSwitchId, vsw);
  return vsw;
}

export function addSecurityGroup(cloud: FakeCloud, o: AddSecurityGroup): SecurityGroupRecord {
  const vpc = need(cloud.vpcs.get(o.vpcId), `VPC ${o.vpcId}`);
  const sg: SecurityGroupRecord = {
    securityGroupId: o.securityGroupId ?? newId('sg'),
    vpcId: vpc.vpcId,
    regionId: vpc.regionId,
    name: o.name ?? '',
    rules: [],
  };
  cloud.securityGroups.set(sg.securityGroupId, sg);
  return sg;
}

export function addInstance(cloud: FakeCloud, o: AddInstance): InstanceRecord {
  const vsw = need(cloud.vSwitches.get(o.vSwitchId), `vSwitch ${o.vSwitchId}`);
  if (vsw.vpcId !== o.vpcId) throw new Error(`fake seed: vSwitch ${o.vSwitchId} is not in ${o.vpcId}`);
  if (!isIPv4(o.privateIp) || !contains(parseCidr(vsw.cidrBlock), parseCidr(`${o.privateIp}/32`))) {
    throw new Error(`fake seed: ${o.privateIp} is not inside vSwitch ${vsw.cidrBlock}`);
  }
  for (const sg of o.securityGroupIds ?? []) need(cloud.securityGroups.get(sg), `security group ${sg}`);
  const inst: InstanceRecord = {
    instanceId: o.instanceId ?? newId('i'),
    regionId: vsw.regionId,
    zoneId: vsw.zoneId,
    vpcId: vsw.vpcId,
    vSwitchId: vsw.vSwitchId,
    privateIp: o.privateIp,
    eniId: newId('eni'),
    publicIp: o.publicIp,
    eip: o.eip ? { ipAddress: o.eip, allocationId: newId('eip') } : undefined,
    securityGroupIds: [...(o.securityGroupIds ?? [])],
    name: o.name ?? '',
    status: o.status ?? 'Running',
  };
  cloud.instances.set(inst.instanceId, inst);
  return inst;
}

export function addRouteEntry(cloud: FakeCloud, o: AddRouteEntry, now: number): RouteEntryRecord {
  need(cloud.routeTables.get(o.routeTableId), `route table ${o.routeTableId}`);
  const status = o.status ?? 'Available';
  const entry: RouteEntryRecord = {
    routeEntryId: newId('rte'),
    routeTableId: o.routeTableId,
    destination: parseCidr(o.destinationCidrBlock).text,
    nextHopType: o.nextHopType ?? 'Instance',
    nextHopId: o.nextHopId,
    type: o.type ?? 'Custom',
    name: '',
    description: '',
    status,
    until: status === 'Available' ? now : now + (o.forMs ?? 60_000),
    modifiedAt: now,
  };
  cloud.entries.set(entry.routeEntryId, entry);
  return entry;
}
