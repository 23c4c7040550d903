// Several routes of one table in ONE call: CreateRouteEntries / DeleteRouteEntries. Documented
// (API references and the @alicloud/vpc20160428 models): at most 50 entries per call, no ClientToken,
// HTTP 200 with per-entry failures (FailedRouteEntries: DstCidrBlock, NextHop, FailedCode,
// FailedMessage), asynchronous entries like the single-entry APIs. A failure names the entry by
// destination and next hop but not by route table, which is why a batch is limited to one table.
import { isIP } from 'node:net';
import * as $Vpc from '@alicloud/vpc20160428';
import { parseCidr } from '../../lib/cidr';
import { CloudError, type RouteBatchResult, type RouteSpec } from '../types';
import type { AliyunClients } from './clients';
import { call, entryError } from './errors';
import { aliyunCapabilities } from './capabilities';

/** "You can specify up to 50" entries per call (both APIs). */
export const maxRoutesPerBatch = aliyunCapabilities.routeBatchSize;

/** Per-entry (and single-entry) codes meaning "no such route with that next hop". */
const absentCodes = new Set(['VPC_ROUTER_ENTRY_NOT_EXIST', 'InvalidRouteEntry.NotFound', 'InvalidRouteEntryId.NotFound', 'InvalidRouteEntry']);

interface EntryFailure {
  dstCidrBlock?: string;
  failedCode?: string;
  failedMessage?: string;
}

/** The destination as the API stores it (a bare IP is a /32 or /128), to match failures to routes. */
function destinationKey(text: string): string {
  const family = isIP(text);
  try {
    return parseCidr(family === 4 ? `${text}/32` : family === 6 ? `${text}/128` : text).text;
  } catch {
    return text;
  }
}

/** Refuses, without a call, a batch whose results could not be matched back to its routes. */
function checkBatch(api: string, routes: readonly RouteSpec[]): void {
  if (routes.length > maxRoutesPerBatch) {
    throw new CloudError('invalid', `aliyun ${api}: ${routes.length} routes in one call; the API takes at most ${maxRoutesPerBatch}`);
  }
  const tables = new Set(routes.map((r) => r.routeTableId));
  if (tables.size > 1) throw new CloudError('invalid', `aliyun ${api}: routes of one call must share a route table (got ${[...tables].join(', ')})`);
  const keys = routes.map((r) => destinationKey(r.destinationCidr));
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) throw new CloudError('invalid', `aliyun ${api}: destination ${twice} appears twice in one call`);
}

/**
 * Pairs each route with its failure, if any. A failure naming no route we sent, or counts that do
 * not add up, leave the other routes unknown: those get a retryable 'unavailable' error telling the
 * caller to read them, rather than a guess.
 */
function results<O extends string>(
  api: string,
  routes: readonly RouteSpec[],
  body: { successCount?: number; failedRouteEntries?: EntryFailure[] } | undefined,
  onFailure: (f: EntryFailure) => O | CloudError,
  success: O,
): RouteBatchResult<O>[] {
  const failures = new Map<string, EntryFailure>();
  for (const f of body?.failedRouteEntries ?? []) failures.set(destinationKey(f.dstCidrBlock ?? ''), f);
  const matched = routes.filter((r) => failures.has(destinationKey(r.destinationCidr))).length;
  const ambiguous = matched < failures.size || (body?.successCount !== undefined && body.successCount !== routes.length - matched);
  return routes.map((route) => {
    const f = failures.get(destinationKey(route.destinationCidr));
    if (f) {
      const o = onFailure(f);
      return o instanceof CloudError ? { route, error: o } : { route, outcome: o };
    }
    if (ambiguous) return { route, error: new CloudError('unavailable', `aliyun ${api}: the response does not account for ${route.destinationCidr}; read the route`) };
    return { route, outcome: success };
  });
}

/** One CreateRouteEntries call (NextHopType Instance) for routes of one table. */
export async function createRoutes(clients: AliyunClients, routes: readonly RouteSpec[]): Promise<RouteBatchResult<'created'>[]> {
  if (routes.length === 0) return [];
  checkBatch('CreateRouteEntries', routes);
  const req = new $Vpc.CreateRouteEntriesRequest({
    regionId: clients.regionId,
    routeEntries: routes.map(
      (r) => new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: r.routeTableId, dstCidrBlock: r.destinationCidr, nextHop: r.instanceId, nextHopType: 'Instance' }),
    ),
  });
  const res = await call('CreateRouteEntries', () => clients.vpc.createRouteEntries(req));
  return results('CreateRouteEntries', routes, res.body, (f) => entryError('CreateRouteEntries', f.failedCode, f.failedMessage), 'created');
}

/**
 * One DeleteRouteEntries call naming each destination AND our instance as next hop, so a route
 * someone re-pointed elsewhere is never removed (VPC_ROUTER_ENTRY_NOT_EXIST: 'absent'). A missing
 * route table stays that entry's not_found error, as in deleteRoute.
 */
export async function deleteRoutes(clients: AliyunClients, routes: readonly RouteSpec[]): Promise<RouteBatchResult<'deleted' | 'absent'>[]> {
  if (routes.length === 0) return [];
  checkBatch('DeleteRouteEntries', routes);
  const req = new $Vpc.DeleteRouteEntriesRequest({
    regionId: clients.regionId,
    routeEntries: routes.map((r) => new $Vpc.DeleteRouteEntriesRequestRouteEntries({ routeTableId: r.routeTableId, dstCidrBlock: r.destinationCidr, nextHop: r.instanceId })),
  });
  const res = await call('DeleteRouteEntries', () => clients.vpc.deleteRouteEntries(req));
  return results<'deleted' | 'absent'>(
    'DeleteRouteEntries',
    routes,
    res.body,
    (f) => (f.failedCode !== undefined && absentCodes.has(f.failedCode) ? 'absent' : entryError('DeleteRouteEntries', f.failedCode, f.failedMessage)),
    'deleted',
  );
}
