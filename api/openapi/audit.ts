// The contract of GET /api/audit.
import { AuditList, AuditQuery } from '../schemas/audit';
import type { Operation } from './operation';

export const auditOperations: Operation[] = [
  {
    method: 'get',
    path: '/api/audit',
    tag: 'audit',
    summary: 'The audit trail (admin, auditor)',
    description:
      'One record per mutating call that passed authentication (403s included): who, from where, the route, the target, the request body with secrets redacted, the status, the request id and any secret issued. Newest first; page with `cursor`. Append-only: no call changes or deletes records; they are pruned after AUDIT_RETENTION_DAYS.',
    query: AuditQuery,
    responses: { 200: { description: 'A page of records', json: AuditList } },
  },
];
