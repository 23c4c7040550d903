// VPC batch route writes: CreateRouteEntries and DeleteRouteEntries. Documented behaviour
// (API references, read through the search tool, and the @alicloud/vpc20160428 models):
// - https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-createrouteentries
// - https://alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-deleterouteentries
// * Entries arrive as RouteEntries.N.{RouteTableId, DstCidrBlock, NextHop, NextHopType, Name,
//   Description, IpVersion} (delete: RouteTableId plus RouteEntryId, or DstCidrBlock AND NextHop);
//   "up to 50" of each. Neither API has a ClientToken; both have DryRun (DryRunOperation).
// * Partial success: HTTP 200 with SuccessCount, FailedCount, FailedRouteEntries[{DstCidrBlock,
//   NextHop, (RouteEntryId,) FailedCode, FailedMessage}] and, for create, RouteEntryIds. The only
//   per-entry codes the docs show are VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE ("Specified CIDR block is
//   already exists, entry.cidrBlock=xxxx") and VPC_ROUTER_ENTRY_NOT_EXIST ("vRouterEntry not exists").
// * Asynchronous like the single-entry APIs (Creating/Pending -> Available, Deleting -> gone); no
//   concurrent batch in the same VPC; only Available entries can be deleted. Whole-call codes in the
//   tables: MissingParam.RouteTableId (create), TaskConflict (delete), DryRunOperation.
// Where the docs are silent the fake does what CreateRouteEntry/DeleteRouteEntry do (vpc-routes.ts):
// - too many entries: InvalidParameter for the whole call (the limit is documented, its code is not);
// - a busy table (an entry of a named table, or of its VPC per busyScope, not Available) fails the
//   WHOLE call, nothing written: IncorrectRouteEntryStatus for create (as CreateRouteEntry),
//   TaskConflict for delete (the code DeleteRouteEntries documents);
// - every other check of the single-entry API fails just that entry, with the single-entry code as
//   FailedCode (InvalidCidrBlock.Malformed, InvalidCidrBlock, InvalidNextHopId.NotFound,
//   OperationFailed.InstanceDismatchCurrentVpc, InvalidRouteTableId.NotFound, QuotaExceeded,
//   RouteConflict.AlreadyExist over a learned route, OperationDenied/Forbbiden on delete), except the
//   two documented batch codes above; entries are processed in order, so the second of two entries
//   for one destination is the duplicate and the quota counts entries accepted earlier in the call.
import { ApiError, apiError, missing } from './errors';
import { parseDestination, type ApiHandler, type HandlerContext } from './context';
import type { RouteEntryRecord, RouteTableRecord } from './model';
import { addCustomEntry, blocking, checkDestinationAllowed, checkInstanceHop, checkRoomFor, findTable, lockOf, removeEntry } from './vpc-routes';

/** "You can specify up to 50" route table IDs / CIDR blocks / next hops per call. */
export const maxBatchEntries = 50;

type Entry = Record<string, string | undefined>;

interface Failure {
  RouteEntryId?: string;
  DstCidrBlock?: string;
  NextHop?: string;
  FailedCode: string;
  FailedMessage: string;
}

/** The RouteEntries.N structures, with the whole-call parameter checks. */
function entriesOf(ctx: HandlerContext, needs: (e: Entry) => string[]): Entry[] {
  const list = ctx.params.list('RouteEntries').map((e): Entry => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === '' ? undefined : v])));
  if (list.length === 0) throw missing('RouteEntries');
  if (list.length > maxBatchEntries) throw apiError('InvalidParameter', `The number of RouteEntries must not exceed ${maxBatchEntries}.`);
  list.forEach((e, i) => {
    if (e.RouteTableId === undefined) throw apiError('MissingParam.RouteTableId');
    const absent = needs(e).find((f) => e[f] === undefined);
    if (absent) throw missing(`RouteEntries.${i + 1}.${absent}`);
  });
  return list;
}

/** The existing tables the entries name (unknown ones fail per entry). */
function tablesOf(ctx: HandlerContext): RouteTableRecord[] {
  const ids = new Set(ctx.params.list('RouteEntries').map((e) => e.RouteTableId ?? ''));
  return [...ids].map((id) => ctx.cloud.routeTables.get(id)).filter((t): t is RouteTableRecord => t !== undefined);
}

/** One lock per table (or VPC) the batch touches, as the single-entry writes take it. */
function lockKeys(ctx: HandlerContext): string[] {
  return tablesOf(ctx).flatMap((t) => lockOf(ctx, t) ?? []);
}

/** The whole call is refused, nothing written, while any named table (or VPC) is mid-change. */
function refuseIfBusy(ctx: HandlerContext, code: 'IncorrectRouteEntryStatus' | 'TaskConflict'): void {
  if (tablesOf(ctx).some((t) => blocking(ctx, t))) throw apiError(code);
}

/** Runs `fn` for one entry, turning a documented API error into that entry's failure. */
function perEntry(failures: Failure[], e: Entry, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    failures.push({
      ...(e.RouteEntryId !== undefined ? { RouteEntryId: e.RouteEntryId } : {}),
      DstCidrBlock: e.DstCidrBlock,
      NextHop: e.NextHop,
      ...(err.code === 'InvalidCIDRBlock.Duplicate'
        ? { FailedCode: 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE', FailedMessage: `Specified CIDR block is already exists, entry.cidrBlock=${e.DstCidrBlock ?? ''}` }
        : { FailedCode: err.code, FailedMessage: err.message }),
    });
  }
}

const createRouteEntries: ApiHandler = {
  noClientToken: true,
  lockKey: lockKeys,
  handle(ctx) {
    const entries = entriesOf(ctx, () => ['DstCidrBlock', 'NextHop']);
    if (ctx.params.bool('DryRun')) throw apiError('DryRunOperation');
    refuseIfBusy(ctx, 'IncorrectRouteEntryStatus');
    const ids: string[] = [];
    const failures: Failure[] = [];
    for (const e of entries) {
      perEntry(failures, e, () => {
        const table = findTable(ctx, e.RouteTableId!);
        const dest = parseDestination(e.DstCidrBlock!);
        const type = e.NextHopType ?? 'Instance';
        const hop = checkInstanceHop(ctx, table, type, e.NextHop);
        checkDestinationAllowed(ctx, table, dest);
        checkRoomFor(ctx, table, dest);
        ids.push(addCustomEntry(ctx, table, dest, { type, id: hop }, e.Name ?? '', e.Description ?? '').routeEntryId);
      });
    }
    return { SuccessCount: ids.length, FailedCount: failures.length, RouteEntryIds: ids, FailedRouteEntries: failures };
  },
};

const notExist = (): ApiError => new ApiError('VPC_ROUTER_ENTRY_NOT_EXIST', 400, 'vRouterEntry not exists');

/** The entry one RouteEntries.N names: by RouteEntryId, or by destination AND next hop. */
function deleteTarget(ctx: HandlerContext, table: RouteTableRecord, e: Entry): RouteEntryRecord {
  const all = ctx.cloud.allEntriesOf(table);
  if (e.RouteEntryId !== undefined) {
    const entry = all.find((x) => x.routeEntryId === e.RouteEntryId);
    if (!entry) throw notExist();
    if (entry.type === 'System') throw apiError('OperationDenied');
    return entry;
  }
  const dest = parseDestination(e.DstCidrBlock!).text;
  const same = all.filter((x) => x.destination === dest);
  const entry = same.find((x) => x.type !== 'System');
  if (!entry) throw same.length > 0 ? apiError('OperationDenied') : notExist();
  // Like DeleteRouteEntry with NextHopId: a route pointing elsewhere is "not there" for this request.
  if (entry.nextHopId !== e.NextHop) throw notExist();
  return entry;
}

const deleteRouteEntries: ApiHandler = {
  noClientToken: true,
  lockKey: lockKeys,
  handle(ctx) {
    const entries = entriesOf(ctx, (e) => (e.RouteEntryId === undefined ? ['DstCidrBlock', 'NextHop'] : []));
    if (ctx.params.bool('DryRun')) throw apiError('DryRunOperation');
    refuseIfBusy(ctx, 'TaskConflict');
    let deleted = 0;
    const failures: Failure[] = [];
    for (const e of entries) {
      perEntry(failures, e, () => {
        const entry = deleteTarget(ctx, findTable(ctx, e.RouteTableId!), e);
        if (entry.type !== 'Custom') throw apiError('Forbbiden');
        // Named twice in one call: the first mention already started the deletion.
        if (entry.status !== 'Available') throw notExist();
        removeEntry(ctx, entry);
        deleted += 1;
      });
    }
    return { SuccessCount: deleted, FailedCount: failures.length, FailedRouteEntries: failures };
  },
};

export const vpcRouteBatchHandlers: Record<string, ApiHandler> = {
  CreateRouteEntries: createRouteEntries,
  DeleteRouteEntries: deleteRouteEntries,
};
