// Route writes and reads, one API call each (the rate-limited activities count on it). Route
// entries are asynchronous in Alibaba Cloud (Pending -> Available, Deleting -> gone) and a table
// refuses a second change while one is in progress: callers poll getRoute between writes.
import * as $Vpc from '@alicloud/vpc20160428';
import { CloudError, type RouteSpec, type RouteState } from '../types';
import type { AliyunClients } from './clients';
import { call } from './errors';

/** ClientToken: documented as at most 64 ASCII characters. */
const clientTokenPattern = /^[\x20-\x7e]{1,64}$/;

/** DeleteRouteEntry codes meaning "no such route (with that next hop)". */
const absentCodes = new Set(['InvalidRouteEntry.NotFound', 'InvalidRouteEntryId.NotFound', 'InvalidRouteEntry']);

/**
 * One CreateRouteEntry call (NextHopType Instance). Resolves 'created' — also when the same
 * ClientToken already created it (the API then returns the original RouteEntryId). It never
 * resolves 'exists': a destination already in the table fails with CloudError('conflict') and
 * providerCode InvalidCIDRBlock.Duplicate (or RouteConflict.AlreadyExist), whoever the next hop is;
 * the caller reads getRoute to tell "ours, identical" from "someone else's".
 */
export async function createRoute(clients: AliyunClients, route: RouteSpec, clientToken: string): Promise<'created'> {
  if (!clientTokenPattern.test(clientToken)) {
    throw new CloudError('invalid', 'aliyun ClientToken must be 1 to 64 printable ASCII characters');
  }
  const req = new $Vpc.CreateRouteEntryRequest({
    regionId: clients.regionId,
    routeTableId: route.routeTableId,
    destinationCidrBlock: route.destinationCidr,
    nextHopType: 'Instance',
    nextHopId: route.instanceId,
    clientToken,
  });
  await call('CreateRouteEntry', () => clients.vpc.createRouteEntry(req));
  return 'created';
}

type Entry = $Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry;

function stateOf(entry: Entry): RouteState {
  const hops = entry.nextHops?.nextHop ?? [];
  const only = hops.length === 1 ? hops[0] : undefined;
  return {
    status: entry.status ?? 'Unknown',
    instanceId: only?.nextHopType === 'Instance' ? only.nextHopId : undefined,
    nextHop: hops.map((h) => (h.nextHopId ? `${h.nextHopType ?? '?'}:${h.nextHopId}` : (h.nextHopType ?? '?'))).join(',') || 'none',
  };
}

/** One DescribeRouteEntryList call filtered by destination; undefined when no route has it. */
export async function getRoute(clients: AliyunClients, route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>): Promise<RouteState | undefined> {
  const req = new $Vpc.DescribeRouteEntryListRequest({
    regionId: clients.regionId,
    routeTableId: route.routeTableId,
    destinationCidrBlock: route.destinationCidr,
    maxResult: 10,
  });
  const res = await call('DescribeRouteEntryList', () => clients.vpc.describeRouteEntryList(req));
  const entry = res.body?.routeEntrys?.routeEntry?.[0];
  return entry ? stateOf(entry) : undefined;
}

/**
 * The Custom entries of a table (what batches write), 100 per DescribeRouteEntryList call: one
 * call up to 100 entries, two at the documented quota of 200.
 */
export async function listRoutes(clients: AliyunClients, routeTableId: string): Promise<Array<RouteState & { destinationCidr: string }>> {
  const out: Array<RouteState & { destinationCidr: string }> = [];
  let nextToken: string | undefined;
  do {
    const req = new $Vpc.DescribeRouteEntryListRequest({ regionId: clients.regionId, routeTableId, routeEntryType: 'Custom', maxResult: 100, nextToken });
    const res = await call('DescribeRouteEntryList', () => clients.vpc.describeRouteEntryList(req));
    for (const e of res.body?.routeEntrys?.routeEntry ?? []) if (e.destinationCidrBlock) out.push({ destinationCidr: e.destinationCidrBlock, ...stateOf(e) });
    nextToken = res.body?.nextToken || undefined;
  } while (nextToken);
  return out;
}

/**
 * One DeleteRouteEntry call naming the destination AND our instance as next hop, so a route that
 * someone re-pointed elsewhere is never removed: the API answers InvalidRouteEntry.NotFound and
 * this resolves 'absent'. A missing route table stays an error (not_found): it usually means a
 * wrong region or account rather than "already deleted".
 */
export async function deleteRoute(clients: AliyunClients, route: RouteSpec): Promise<'deleted' | 'absent'> {
  const req = new $Vpc.DeleteRouteEntryRequest({
    regionId: clients.regionId,
    routeTableId: route.routeTableId,
    destinationCidrBlock: route.destinationCidr,
    nextHopId: route.instanceId,
  });
  try {
    await call('DeleteRouteEntry', () => clients.vpc.deleteRouteEntry(req));
    return 'deleted';
  } catch (e) {
    if (e instanceof CloudError && e.providerCode !== undefined && absentCodes.has(e.providerCode)) return 'absent';
    throw e;
  }
}
