// The audit trail: every mutating /api call that got past authentication (refusals by role
// included) leaves exactly one AuditRecord, written when the answer has gone out; GET /api/audit
// reads them (admin, auditor). Request bodies are kept with every secret-looking field redacted.
import { Router, type NextFunction, type Request, type Response } from 'express';
import { clip, invalid } from '../lib/errors';
import type { Logger } from '../lib/log';
import { limitKey } from '../lib/net';
import type { AuditRecord, AuditStore } from '../store';
import { principalOf } from './auth';
import type { ApiContext } from './context';
import { requestIdOf } from './request-id';
import { routeOf } from './roles';
import { iso } from './schemas/common';
import { AuditQuery, type AuditListView, type AuditRecordView } from './schemas/audit';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Request bodies are kept up to this size (JSON text); longer ones are cut and marked. */
const MAX_BODY = 8_192;
const REDACTED = '[redacted]';
/** Field names whose values are secrets wherever they appear in a body. */
const SECRET_FIELD = /secret|token|password|passphrase|credential|psk|private|accesskey|^key$/i;

/** The secret each route hands out or replaces when it succeeds. */
const SECRETS_ISSUED: Readonly<Record<string, string>> = {
  'POST /api/gateways': 'agent secret',
  'POST /api/gateways/:id/secret': 'agent secret',
  'POST /api/gateways/:id/enrolment-token': 'enrolment token',
  'POST /api/links': 'link PSK',
  'POST /api/links/:id/rotate-key': 'link PSK',
  'POST /api/tokens': 'API token',
};

/** A copy of `value` with every field a secret could be in replaced by "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, SECRET_FIELD.test(key) ? REDACTED : redact(item, depth + 1)]));
  }
  return value;
}

function bodyText(body: unknown): string | null {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0 && !Array.isArray(body))) return null;
  const text = JSON.stringify(redact(body));
  return text.length > MAX_BODY ? JSON.stringify({ truncated: true, start: text.slice(0, MAX_BODY) }) : text;
}


/**
 * Records mutating calls; mounted after authentication, before the role check (a refused attempt
 * is worth recording), with the id api/request-id.ts gave the request.
 */
export function auditTrail(store: AuditStore, log: Logger, clock: () => Date = () => new Date()) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!MUTATING.has(req.method)) return next();
    const requestId = requestIdOf(res);
    const path = `${req.baseUrl}${req.path}`;
    const route = routeOf(req.method, path);
    let createdId: string | undefined;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const id = (body as { id?: unknown } | null)?.id;
      if (typeof id === 'string') createdId = id;
      return json(body);
    };
    const principal = principalOf(res);
    const at = clock();
    res.once('close', () => {
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const action = route?.route ?? `${req.method} ${clip(path, 200)}`;
      store
        .append({
          at,
          actor: principal.actor,
          tokenId: principal.tokenId ?? null,
          source: limitKey(req.socket.remoteAddress),
          action,
          target: route?.id ?? createdId ?? null,
          body: bodyText(req.body),
          status: res.writableFinished ? res.statusCode : 499,
          requestId,
          secret: ok ? (SECRETS_ISSUED[action] ?? null) : null,
        })
        .catch((err: unknown) => log.error('could not write an audit record', { action, requestId, err }));
    });
    next();
  };
}

export function auditView(record: AuditRecord): AuditRecordView {
  let body: unknown = null;
  try {
    body = record.body === null ? null : JSON.parse(record.body);
  } catch {
    body = { unreadable: true };
  }
  return { id: String(record.id), at: iso(record.at), actor: record.actor, tokenId: record.tokenId, source: record.source, action: record.action, target: record.target, body, status: record.status, requestId: record.requestId, secret: record.secret };
}

export function auditRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/', async (req, res) => {
    const parsed = AuditQuery.safeParse(req.query);
    if (!parsed.success) {
      const fields = parsed.error.issues.slice(0, 10).map((issue) => ({ field: issue.path.map(String).join('.') || '(query)', message: clip(issue.message, 200) }));
      throw invalid(`invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { fields });
    }
    const q = parsed.data;
    const limit = q.limit ?? 100;
    const records = await ctx.store.audit.find({
      ...(q.actor !== undefined ? { actor: q.actor } : {}),
      ...(q.target !== undefined ? { target: q.target } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.requestId !== undefined ? { requestId: q.requestId } : {}),
      ...(q.since ? { since: new Date(q.since) } : {}),
      ...(q.until ? { until: new Date(q.until) } : {}),
      ...(q.cursor ? { before: Number(q.cursor) } : {}),
      limit,
    });
    const last = records.at(-1);
    res.json({ records: records.map(auditView), nextCursor: records.length === limit && last ? String(last.id) : null } satisfies AuditListView);
  });
  return r;
}

/** Deletes records older than `days`; the controller runs it at start and hourly. */
export async function pruneAudit(store: AuditStore, days: number, now: Date = new Date()): Promise<number> {
  return store.prune(new Date(now.getTime() - days * 86_400_000));
}
