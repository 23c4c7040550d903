// The fake cloud's state: VPCs, vSwitches, route tables and entries, security groups, instances.
// Route entries change state lazily from timestamps (Pending -> Available, Deleting -> gone), so
// asynchronous behaviour needs no timers and a test never races a background task.
import { randomBytes, createHash } from 'node:crypto';

export type EntryStatus = 'Pending' | 'Available' | 'Modifying' | 'Deleting';
/** Custom = written through the API; the others model routes learned from elsewhere. */
export type EntryType = 'Custom' | 'System' | 'BGP' | 'CEN' | 'ECR';

export interface VpcRecord {
  vpcId: string;
  regionId: string;
  cidrBlock: string;
  secondaryCidrs: string[];
  vRouterId: string;
  name: string;
  createdAt: number;
}

export interface VSwitchRecord {
  vSwitchId: string;
  vpcId: string;
  regionId: string;
  zoneId: string;
  cidrBlock: string;
  /** Route table the vSwitch is associated with (the system table unless a custom one is given). */
  routeTableId: string;
}

export interface RouteTableRecord {
  routeTableId: string;
  vpcId: string;
  regionId: string;
  type: 'System' | 'Custom';
  vRouterId: string;
  name: string;
  createdAt: number;
}

export interface RouteEntryRecord {
  routeEntryId: string;
  routeTableId: string;
  destination: string;
  nextHopType: string;
  nextHopId: string;
  type: EntryType;
  name: string;
  description: string;
  status: EntryStatus;
  /** When the current transitional status ends. */
  until: number;
  /** Next hop taking effect when Modifying ends. */
  pendingHop?: { type: string; id: string };
  modifiedAt: number;
}

export interface RuleRecord {
  securityGroupRuleId: string;
  ipProtocol: string;
  portRange: string;
  sourceCidrIp?: string;
  ipv6SourceCidrIp?: string;
  sourceGroupId?: string;
  sourcePrefixListId?: string;
  policy: 'Accept' | 'Drop';
  priority: number;
  description: string;
  createdAt: number;
}

export interface SecurityGroupRecord {
  securityGroupId: string;
  vpcId: string;
  regionId: string;
  name: string;
  rules: RuleRecord[];
}

export interface InstanceRecord {
  instanceId: string;
  regionId: string;
  zoneId: string;
  vpcId: string;
  vSwitchId: string;
  privateIp: string;
  /** Primary network interface. */
  eniId: string;
  publicIp?: string;
  eip?: { ipAddress: string; allocationId: string };
  securityGroupIds: string[];
  name: string;
  status: string;
}

/** A lowercase alphanumeric id with the cloud's prefix, e.g. "vtb-2ze3jgygk9bmsj23s4x1". */
export function newId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `${prefix}-${[...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

/** Stable ids for computed system entries, so repeated queries agree. */
export function systemEntryId(routeTableId: string, cidr: string): string {
  return `rte-${createHash('sha256').update(`${routeTableId}|${cidr}`).digest('hex').slice(0, 20)}`;
}

export class FakeCloud {
  readonly vpcs = new Map<string, VpcRecord>();
  readonly vSwitches = new Map<string, VSwitchRecord>();
  readonly routeTables = new Map<string, RouteTableRecord>();
  /** Entries that are stored (Custom and learned ones); System entries are computed. */
  readonly entries = new Map<string, RouteEntryRecord>();
  readonly securityGroups = new Map<string, SecurityGroupRecord>();
  readonly instances = new Map<string, InstanceRecord>();

  clear(): void {
    for (const m of [this.vpcs, this.vSwitches, this.routeTables, this.entries, this.securityGroups, this.instances]) m.clear();
  }

  /** Applies every transition whose time has come. */
  settle(now: number): void {
    for (const e of this.entries.values()) {
      if (e.status === 'Available' || now < e.until) continue;
      if (e.status === 'Deleting') {
        this.entries.delete(e.routeEntryId);
        continue;
      }
      if (e.status === 'Modifying' && e.pendingHop) {
        e.nextHopType = e.pendingHop.type;
        e.nextHopId = e.pendingHop.id;
        e.pendingHop = undefined;
      }
      e.status = 'Available';
      e.modifiedAt = e.until;
    }
  }

  tablesOfVpc(vpcId: string): RouteTableRecord[] {
    return [...this.routeTables.values()].filter((t) => t.vpcId === vpcId);
  }

  vSwitchesOfVpc(vpcId: string): VSwitchRecord[] {
    return [...this.vSwitches.values()].filter((v) => v.vpcId === vpcId);
  }

  storedEntriesOf(routeTableId: string): RouteEntryRecord[] {
    return [...this.entries.values()].filter((e) => e.routeTableId === routeTableId);
  }

  /** Every entry of a table as DescribeRouteEntryList shows it: system routes first. */
  allEntriesOf(table: RouteTableRecord): RouteEntryRecord[] {
    const system = [...this.vSwitchesOfVpc(table.vpcId).map((v) => v.cidrBlock), '100.64.0.0/10'].map(
      (cidr): RouteEntryRecord => ({
        routeEntryId: systemEntryId(table.routeTableId, cidr),
        routeTableId: table.routeTableId,
        destination: cidr,
        nextHopType: cidr === '100.64.0.0/10' ? 'service' : 'local',
        nextHopId: '',
        type: 'System',
        name: '',
        description: '',
        status: 'Available',
        until: 0,
        modifiedAt: table.createdAt,
      }),
    );
    return [...system, ...this.storedEntriesOf(table.routeTableId)];
  }
}
