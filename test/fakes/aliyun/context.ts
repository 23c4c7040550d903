// What every API handler of the fake receives, and small helpers they share (paging, CIDRs, region).
import { CidrError, parseCidr, type Cidr } from '../../../lib/cidr';
import { isIP } from 'node:net';
import { apiError } from './errors';
import type { FakeCloud } from './model';
import type { Params } from './params';

export interface FakeBehaviour {
  /** How long Pending/Modifying/Deleting last. */
  asyncDelayMs: number;
  /** Custom entries allowed per route table (docs: 200). */
  routeQuota: number;
  /** Rules allowed per security group. */
  sgRuleQuota: number;
  /**
   * What a transitional entry blocks: its route table (default) or the whole VPC, which is what the
   * CreateRouteEntry/DeleteRouteEntry docs literally say ("no concurrent ... in the same VPC").
   */
  busyScope: 'table' | 'vpc';
}

export interface HandlerContext {
  params: Params;
  cloud: FakeCloud;
  now: number;
  behaviour: FakeBehaviour;
}

export interface ApiHandler {
  handle(ctx: HandlerContext): Record<string, unknown>;
  /**
   * For writes that take the route-table lock: the lock's key (several for a batch spanning tables).
   * A second write on a held key while one is in flight fails with OperationFailed.DistibuteLock.
   */
  lockKey?(ctx: HandlerContext): string | readonly string[] | undefined;
  /**
   * True for APIs that have no ClientToken parameter (CreateRouteEntries, DeleteRouteEntries): the
   * gateway ignores a ClientToken sent anyway, so there is no replay, mismatch or LastTokenProcessing.
   */
  noClientToken?: boolean;
}

/** A slice of `items` for PageNumber/PageSize paging, with the fields the responses carry. */
export function page<T>(
  params: Params,
  items: readonly T[],
  maxPageSize: number,
): { slice: T[]; PageNumber: number; PageSize: number; TotalCount: number } {
  const pageNumber = params.int('PageNumber', 1, 1, 1_000_000);
  const pageSize = params.int('PageSize', 10, 1, maxPageSize);
  const start = (pageNumber - 1) * pageSize;
  return { slice: items.slice(start, start + pageSize), PageNumber: pageNumber, PageSize: pageSize, TotalCount: items.length };
}

/** True when the request's RegionId (if given) is the resource's region. */
export function inRegion(params: Params, regionId: string): boolean {
  const r = params.get('RegionId');
  return r === undefined || r === regionId;
}

/**
 * A destination as CreateRouteEntry takes it: a CIDR, or a bare IP meaning /32 (/128 for IPv6).
 * Anything else is InvalidCidrBlock.Malformed, as documented.
 */
export function parseDestination(text: string): Cidr {
  const withMask = isIP(text) === 4 ? `${text}/32` : isIP(text) === 6 ? `${text}/128` : text;
  try {
    return parseCidr(withMask);
  } catch (e) {
    if (e instanceof CidrError) throw apiError('InvalidCidrBlock.Malformed');
    throw e;
  }
}

/** A CIDR or address as ECS takes it in SourceCidrIp; the error code is the caller's. */
export function parseSource(text: string, onError: () => Error): Cidr {
  try {
    return parseCidr(isIP(text) === 4 ? `${text}/32` : isIP(text) === 6 ? `${text}/128` : text);
  } catch {
    throw onError();
  }
}

/** Opaque NextToken for offset paging (DescribeRouteEntryList). */
export function readNextToken(params: Params): number {
  const t = params.get('NextToken');
  if (t === undefined) return 0;
  const n = Number(Buffer.from(t, 'base64url').toString('utf8').replace(/^offset:/, ''));
  if (!Number.isInteger(n) || n < 0) throw apiError('IllegalParam.NextToken');
  return n;
}

export function makeNextToken(offset: number, total: number): string {
  return offset < total ? Buffer.from(`offset:${offset}`).toString('base64url') : '';
}
