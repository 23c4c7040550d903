// VPC route entries: CreateRouteEntry, DeleteRouteEntry, ModifyRouteEntry (asynchronous, one change
// at a time per table) and DescribeRouteEntryList. Behaviour follows the API references:
// - CreateRouteEntry: https://www.alibabacloud.com/help/en/virtual-private-cloud/latest/createrouteentry
//   (async Pending -> Available; 200 custom entries; unique destination per table; destination not
//   100.64.0.0/10 nor equal to/inside a vSwitch CIDR; a bare IP means /32; next hop in the same VPC;
//   IncorrectRouteEntryStatus while entries are Pending/Modifying; OperationFailed.DistibuteLock).
// - DeleteRouteEntry: https://alibabacloud.com/help/en/vpc/api-deleterouteentry (only Available
//   entries; async Deleting -> gone; InvalidRouteEntry.NotFound / InvalidRouteEntryId.NotFound).
// - ModifyRouteEntry: SDK remarks ("may return the TaskConflict error code in concurrent scenarios").
import { contains, parseCidr, type Cidr } from '../../../lib/cidr';
import { apiError, missing } from './errors';
import type { ApiHandler, HandlerContext } from './context';
import { makeNextToken, parseDestination, inRegion, readNextToken } from './context';
import { newId, type RouteEntryRecord, type RouteTableRecord } from './model';

const nextHopTypes = new Set([
  'Instance', 'HaVip', 'RouterInterface', 'NetworkInterface', 'VpnGateway', 'IPv6Gateway', 'NatGateway',
  'Attachment', 'VpcPeer', 'Ipv4Gateway', 'GatewayEndpoint', 'Ecr', 'GatewayLoadBalancerEndpoint',
]);
const serviceRange = parseCidr('100.64.0.0/10');

export function findTable(ctx: HandlerContext, routeTableId: string): RouteTableRecord {
  const t = ctx.cloud.routeTables.get(routeTableId);
  if (!t || !inRegion(ctx.params, t.regionId)) throw apiError('InvalidRouteTableId.NotFound');
  return t;
}

/** The entry that makes the table (or VPC, per busyScope) refuse another change, if any. */
export function blocking(ctx: HandlerContext, table: RouteTableRecord): RouteEntryRecord | undefined {
  const tables = ctx.behaviour.busyScope === 'vpc' ? ctx.cloud.tablesOfVpc(table.vpcId) : [table];
  return tables.flatMap((t) => ctx.cloud.storedEntriesOf(t.routeTableId)).find((e) => e.status !== 'Available');
}

export function lockOf(ctx: HandlerContext, table: RouteTableRecord | undefined): string | undefined {
  if (!table) return undefined;
  return ctx.behaviour.busyScope === 'vpc' ? table.vpcId : table.routeTableId;
}

/** Checks that an instance can be the next hop of a route in `table`. */
export function checkInstanceHop(ctx: HandlerContext, table: RouteTableRecord, type: string, id: string | undefined): string {
  if (!nextHopTypes.has(type)) throw apiError('InvalidNextHopType');
  if (id === undefined) throw missing('NextHopId');
  // The fake models ECS instances only; any other next hop does not exist here.
  const inst = type === 'Instance' ? ctx.cloud.instances.get(id) : undefined;
  if (!inst) throw apiError('InvalidNextHopId.NotFound');
  if (inst.vpcId !== table.vpcId) throw apiError('OperationFailed.InstanceDismatchCurrentVpc');
  return id;
}

export function checkDestinationAllowed(ctx: HandlerContext, table: RouteTableRecord, dest: Cidr): void {
  if (dest.family === 4 && contains(serviceRange, dest)) throw apiError('InvalidCidrBlock');
  for (const v of ctx.cloud.vSwitchesOfVpc(table.vpcId)) {
    if (contains(parseCidr(v.cidrBlock), dest)) throw apiError('InvalidCidrBlock');
  }
}

const createRouteEntry: ApiHandler = {
  lockKey: (ctx) => lockOf(ctx, ctx.cloud.routeTables.get(ctx.params.get('RouteTableId') ?? '')),
  handle(ctx) {
    const p = ctx.params;
    const table = findTable(ctx, p.require('RouteTableId'));
    const dest = parseDestination(p.require('DestinationCidrBlock'));
    if (p.list('NextHopList').length > 0) throw apiError('InvalidParameter', 'The fake does not model ECMP (NextHopList).');
    const type = p.get('NextHopType') ?? 'Instance';
    const hopId = checkInstanceHop(ctx, table, type, p.get('NextHopId'));
    checkDestinationAllowed(ctx, table, dest);
    if (blocking(ctx, table)) throw apiError('IncorrectRouteEntryStatus');
    checkRoomFor(ctx, table, dest);
    if (p.bool('DryRun')) throw apiError('DryRunOperation');
    const entry = addCustomEntry(ctx, table, dest, { type, id: hopId }, p.get('RouteEntryName') ?? '', p.get('Description') ?? '');
    return { RouteEntryId: entry.routeEntryId };
  },
};

/** The destination must be free in the table (InvalidCIDRBlock.Duplicate / RouteConflict.AlreadyExist) and the quota not reached. */
export function checkRoomFor(ctx: HandlerContext, table: RouteTableRecord, dest: Cidr): void {
  const same = ctx.cloud.storedEntriesOf(table.routeTableId).find((e) => e.destination === dest.text);
  if (same) throw apiError(same.type === 'Custom' ? 'InvalidCIDRBlock.Duplicate' : 'RouteConflict.AlreadyExist');
  const custom = ctx.cloud.storedEntriesOf(table.routeTableId).filter((e) => e.type === 'Custom').length;
  if (custom >= ctx.behaviour.routeQuota) throw apiError('QuotaExceeded');
}

/** Stores a new custom entry: Pending for asyncDelayMs, then Available. */
export function addCustomEntry(
  ctx: HandlerContext,
  table: RouteTableRecord,
  dest: Cidr,
  hop: { type: string; id: string },
  name: string,
  description: string,
): RouteEntryRecord {
  const entry: RouteEntryRecord = {
    routeEntryId: newId('rte'),
    routeTableId: table.routeTableId,
    destination: dest.text,
    nextHopType: hop.type,
    nextHopId: hop.id,
    type: 'Custom',
    name,
    description,
    status: ctx.behaviour.asyncDelayMs > 0 ? 'Pending' : 'Available',
    until: ctx.now + ctx.behaviour.asyncDelayMs,
    modifiedAt: ctx.now,
  };
  ctx.cloud.entries.set(entry.routeEntryId, entry);
  return entry;
}

/** Starts removing an Available custom entry: Deleting for asyncDelayMs, then gone. */
export function removeEntry(ctx: HandlerContext, entry: RouteEntryRecord): void {
  if (ctx.behaviour.asyncDelayMs > 0) {
    entry.status = 'Deleting';
    entry.until = ctx.now + ctx.behaviour.asyncDelayMs;
  } else {
    ctx.cloud.entries.delete(entry.routeEntryId);
  }
}

/** The entry a Delete/Modify request names: by RouteEntryId, or by table + destination. */
function targetEntry(ctx: HandlerContext, notFound: 'InvalidRouteEntry.NotFound'): { table: RouteTableRecord; entry: RouteEntryRecord } {
  const p = ctx.params;
  const id = p.get('RouteEntryId');
  if (id !== undefined) {
    const entry = ctx.cloud.entries.get(id);
    const table = entry && ctx.cloud.routeTables.get(entry.routeTableId);
    if (entry && table && inRegion(p, table.regionId)) return { table, entry };
    const system = [...ctx.cloud.routeTables.values()].some((t) => ctx.cloud.allEntriesOf(t).some((e) => e.routeEntryId === id));
    throw apiError(system ? 'OperationDenied' : 'InvalidRouteEntryId.NotFound');
  }
  const table = findTable(ctx, p.require('RouteTableId'));
  const dest = parseDestination(p.require('DestinationCidrBlock'));
  const all = ctx.cloud.allEntriesOf(table).filter((e) => e.destination === dest.text);
  const entry = all.find((e) => e.type !== 'System');
  if (!entry) throw apiError(all.length > 0 ? 'OperationDenied' : notFound);
  const hop = p.get('NextHopId');
  if (hop !== undefined && hop !== entry.nextHopId) throw apiError(notFound);
  return { table, entry };
}

function lockOfTarget(ctx: HandlerContext): string | undefined {
  const id = ctx.params.get('RouteEntryId');
  const tableId = id !== undefined ? ctx.cloud.entries.get(id)?.routeTableId : ctx.params.get('RouteTableId');
  return lockOf(ctx, ctx.cloud.routeTables.get(tableId ?? ''));
}

const deleteRouteEntry: ApiHandler = {
  lockKey: lockOfTarget,
  handle(ctx) {
    const { table, entry } = targetEntry(ctx, 'InvalidRouteEntry.NotFound');
    if (entry.type !== 'Custom') throw apiError('Forbbiden');
    if (blocking(ctx, table)) throw apiError('IncorrectRouteEntryStatus');
    if (ctx.params.bool('DryRun')) throw apiError('DryRunOperation');
    removeEntry(ctx, entry);
    return {};
  },
};

const modifyRouteEntry: ApiHandler = {
  lockKey: lockOfTarget,
  handle(ctx) {
    const p = ctx.params;
    const { table, entry } = targetEntry(ctx, 'InvalidRouteEntry.NotFound');
    if (entry.type !== 'Custom') throw apiError('Forbbiden');
    if (blocking(ctx, table)) throw apiError('TaskConflict');
    const newHopId = p.get('NewNextHopId');
    if (newHopId !== undefined) {
      const type = p.get('NewNextHopType') ?? entry.nextHopType;
      checkInstanceHop(ctx, table, type, newHopId);
      if (ctx.behaviour.asyncDelayMs > 0) {
        entry.status = 'Modifying';
        entry.until = ctx.now + ctx.behaviour.asyncDelayMs;
        entry.pendingHop = { type, id: newHopId };
      } else {
        entry.nextHopType = type;
        entry.nextHopId = newHopId;
      }
    }
    entry.name = p.get('RouteEntryName') ?? entry.name;
    entry.description = p.get('Description') ?? entry.description;
    entry.modifiedAt = ctx.now;
    return {};
  },
};

function entryJson(e: RouteEntryRecord, regionId: string): Record<string, unknown> {
  return {
    RouteEntryId: e.routeEntryId,
    RouteTableId: e.routeTableId,
    DestinationCidrBlock: e.destination,
    Type: e.type,
    Status: e.status,
    RouteEntryName: e.name,
    Description: e.description,
    IpVersion: e.destination.includes(':') ? 'ipv6' : 'ipv4',
    GmtModified: `${new Date(e.modifiedAt).toISOString().slice(0, 16)}Z`,
    NextHops: {
      NextHop: [{ NextHopType: e.nextHopType, NextHopId: e.nextHopId, Enabled: 1, NextHopRegionId: regionId, NextHopRelatedInfo: {} }],
    },
  };
}

const describeRouteEntryList: ApiHandler = {
  handle(ctx) {
    const p = ctx.params;
    p.require('RegionId');
    const table = findTable(ctx, p.require('RouteTableId'));
    const destText = p.get('DestinationCidrBlock');
    const dest = destText === undefined ? undefined : parseDestination(destText).text;
    const max = p.int('MaxResult', 10, 1, 100);
    const offset = readNextToken(p);
    const filters: [string | undefined, (e: RouteEntryRecord) => string][] = [
      [p.get('RouteEntryId'), (e) => e.routeEntryId],
      [dest, (e) => e.destination],
      [p.get('RouteEntryType'), (e) => e.type],
      [p.get('NextHopId'), (e) => e.nextHopId],
      [p.get('NextHopType'), (e) => e.nextHopType],
      [p.get('RouteEntryName'), (e) => e.name],
      [p.get('IpVersion')?.toLowerCase(), (e) => (e.destination.includes(':') ? 'ipv6' : 'ipv4')],
    ];
    const matching = ctx.cloud.allEntriesOf(table).filter((e) => filters.every(([want, of]) => want === undefined || of(e) === want));
    const slice = matching.slice(offset, offset + max);
    return {
      RouteEntrys: { RouteEntry: slice.map((e) => entryJson(e, table.regionId)) },
      NextToken: makeNextToken(offset + max, matching.length),
    };
  },
};

export const vpcRouteHandlers: Record<string, ApiHandler> = {
  CreateRouteEntry: createRouteEntry,
  DeleteRouteEntry: deleteRouteEntry,
  ModifyRouteEntry: modifyRouteEntry,
  DescribeRouteEntryList: describeRouteEntryList,
};
