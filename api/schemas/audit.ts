// GET /api/audit: the filters, a record as shown, and a page of them.
import { z } from 'zod';
import { Timestamp } from './common';

export const AuditQuery = z.strictObject({
  actor: z.string().min(1).max(200).optional().meta({ description: '"API_TOKEN", a token\'s name or "anonymous"' }),
  target: z.string().min(1).max(200).optional().meta({ description: 'The id acted on' }),
  action: z.string().min(1).max(200).optional().meta({ description: 'The route, e.g. "DELETE /api/links/:id", or the change the controller made, e.g. "cloud.routes_added"' }),
  requestId: z.string().min(1).max(64).optional().meta({ description: 'One request: the call itself and the cloud changes it caused' }),
  since: z.iso.datetime().optional().meta({ description: 'Records at or after this time' }),
  until: z.iso.datetime().optional().meta({ description: 'Records before this time' }),
  cursor: z.string().regex(/^[1-9]\d{0,15}$/, { error: 'expected the nextCursor of the previous page' }).optional().meta({ description: 'The previous page\'s nextCursor' }),
  limit: z.coerce.number().int().min(1).max(500).optional().meta({ description: 'Records per page, 1 to 500 (default 100)' }),
});

export const AuditRecord = z
  .strictObject({
    id: z.string(),
    at: Timestamp,
    actor: z.string().meta({ description: '"API_TOKEN", a token\'s name, "anonymous", or "controller" for what the controller did itself or on a call\'s behalf' }),
    tokenId: z.string().nullable(),
    source: z.string().meta({ description: 'The caller\'s address (IPv6: its /64), or what in the controller acted ("link workflow", "key rotation schedule")' }),
    action: z.string().meta({ description: 'The route, e.g. "POST /api/gateways/:id/secret"; a cloud change, e.g. "cloud.routes_added"; or "rotate link key (schedule)"' }),
    target: z.string().nullable(),
    body: z.unknown().meta({ description: 'The request body, every secret field "[redacted]"; null without one' }),
    status: z.number().int().meta({ description: 'The answer\'s status (499: the client went away first)' }),
    requestId: z.string().meta({ description: 'Also the answer\'s X-Request-Id header; a cloud change carries the id of the call that caused it (empty when the controller acted on its own, e.g. after a gateway moved)' }),
    secret: z.string().nullable().meta({ description: 'The secret the call issued or rotated, e.g. "agent secret"' }),
  })
  .meta({ id: 'AuditRecord' });
export type AuditRecordView = z.infer<typeof AuditRecord>;

export const AuditList = z.strictObject({ records: z.array(AuditRecord), nextCursor: z.string().nullable() }).meta({ id: 'AuditList' });
export type AuditListView = z.infer<typeof AuditList>;
