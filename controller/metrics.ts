// Where the controller's metrics come from the database and where they are served: GET /metrics on
// the API listener (behind API_TOKEN when it is set) and, when METRICS_PORT is set, on a listener of
// its own without a token (for a Prometheus on the same host or network).
import type http from 'node:http';
import { Router, type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Db } from '../db';
import { connect, date, int, join, sql, text } from '../store/conn';
import { authenticate, requireAccess, type TokenAuthority } from '../api/auth';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { CloudMetrics, ControllerMetrics } from '../lib/metrics';
import type { Pacer } from '../cloud/pacer';
import type { CloudProviderName } from '../cloud/types';
import type { OperationTracking } from '../activities/operations';

export const METRICS_PATH = '/metrics';

/** How long one count of links by state serves scrapes (several Prometheus servers, several controllers). */
export const LINK_COUNT_TTL_MS = 5000;

/**
 * Links per state in one grouped query, cached for `ttlMs`; concurrent scrapes share the query in
 * flight. When the database does not answer, the last counts are served (and the failure logged)
 * rather than failing the whole scrape.
 */
export function linkStateCounts(db: Db, log: Logger, ttlMs = LINK_COUNT_TTL_MS): () => Promise<ReadonlyMap<string, number>> {
  const conn = connect(db);
  let cached: { at: number; counts: ReadonlyMap<string, number> } | undefined;
  let inFlight: Promise<ReadonlyMap<string, number>> | undefined;
  const query = async (): Promise<ReadonlyMap<string, number>> => {
    try {
      const rows = await conn.rows<{ state: unknown; n: unknown }>(sql`SELECT "state", COUNT(*) AS "n" FROM "Link" GROUP BY "state"`);
      const counts = new Map(rows.map((row) => [text(row.state), int(row.n)]));
      cached = { at: Date.now(), counts };
      return counts;
    } catch (err) {
      log.warn('metrics: could not count links by state; serving the last counts', { err });
      return cached?.counts ?? new Map();
    } finally {
      inFlight = undefined;
    }
  };
  return () => {
    if (cached && Date.now() - cached.at < ttlMs) return Promise.resolve(cached.counts);
    return (inFlight ??= query());
  };
}

/** The link's latest events of some types, newest first: how operation metrics find an operation's start. */
export function recentLinkEvents(db: Db): OperationTracking['recentEvents'] {
  const conn = connect(db);
  return async (linkId, types, take) => {
    const rows = await conn.rows<{ type: unknown; at: unknown }>(
      sql`SELECT "type", "at" FROM "LinkEvent" WHERE "linkId" = ${linkId} AND "type" IN (${join([...types])}) ORDER BY "id" DESC LIMIT ${take}`,
    );
    return rows.map((row) => ({ type: text(row.type), at: date(row.at) }));
  };
}

/** The pacer, with each wait observed in the pacer-wait histogram. */
export function measuredPacer(pacer: Pacer, metrics: CloudMetrics): Pacer {
  return async (key, rate, slots) => {
    const waitedMs = await pacer(key, rate, slots);
    metrics.pacerWait[key.provider as CloudProviderName]?.[key.api]?.observe(waitedMs / 1000);
    return waitedMs;
  };
}

// ---- serving ----------------------------------------------------------------------------------

const LOCALS_KEY = 'ipsecmeshMetrics';

/** Makes `app`'s /metrics route (metricsRoute) serve this runtime's metrics. */
export function exposeMetrics(app: Express, metrics: ControllerMetrics): void {
  app.locals[LOCALS_KEY] = metrics.exposition;
}

async function send(registry: Registry, res: http.ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * GET /metrics on the API listener, mounted after the security headers and the Host check. It takes
 * the tokens /api takes, any role (Prometheus: `authorization` in the scrape config), and is open
 * exactly when /api is; failed attempts are limited per source like /api's.
 */
export function metricsRoute(ctx: { apiToken?: string; authority: TokenAuthority; log: Logger; authFailureLimit?: { failures: number; windowSeconds: number } }): Router {
  const r = Router();
  const handlers = [authenticate({ sharedToken: ctx.apiToken, authority: ctx.authority, log: ctx.log, limit: ctx.authFailureLimit }), requireAccess('read')];
  r.get(METRICS_PATH, ...handlers, async (req, res) => {
    const registry = req.app.locals[LOCALS_KEY] as Registry | undefined;
    if (!registry) throw new AppError('not_found', 'this process serves no metrics');
    await send(registry, res);
  });
  return r;
}

/** The METRICS_PORT listener: GET /metrics, nothing else, no token. */
export function metricsListenerHandler(metrics: ControllerMetrics, log: Logger): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    send(metrics.exposition, res).catch((err: unknown) => {
      log.error('metrics: could not render the exposition', { err });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  };
}
