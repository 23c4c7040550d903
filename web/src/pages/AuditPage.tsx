// The audit trail (GET /api/audit; admin and auditor): one record per mutating API call, newest
// first (and the controller's own cloud changes), filtered by actor, target, action, request id and a time range, a page at a time ("Load more" asks
// with the previous page's nextCursor and appends). Bodies come redacted by the controller.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { apiClient, type AuditQuery, type AuditRecord } from '../api/client';
import { ErrorNote, Loading } from '../ui/Status';

/** Records asked for per page (the API allows up to 500). */
export const AUDIT_PAGE = 100;

export interface AuditFilters {
  actor: string;
  target: string;
  action: string;
  /** One operation: the call and the cloud changes it caused. */
  requestId: string;
  /** datetime-local values, in the browser's time zone. */
  since: string;
  until: string;
}

const NO_FILTERS: AuditFilters = { actor: '', target: '', action: '', requestId: '', since: '', until: '' };

/** A datetime-local value (local time) as the ISO time the API takes; '' or unreadable: none. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/** The query for the filters: empty ones are left out. */
export function auditQuery(filters: AuditFilters, cursor?: string): AuditQuery {
  const query: AuditQuery = { limit: AUDIT_PAGE };
  for (const key of ['actor', 'target', 'action', 'requestId'] as const) {
    const value = filters[key].trim();
    if (value) query[key] = value;
  }
  const since = isoOf(filters.since);
  const until = isoOf(filters.until);
  if (since) query.since = since;
  if (until) query.until = until;
  if (cursor) query.cursor = cursor;
  return query;
}

const filtered = (f: AuditFilters) => [f.actor, f.target, f.action, f.requestId, f.since, f.until].some((v) => v.trim() !== '');

export default function AuditPage() {
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditFilters>(NO_FILTERS);
  const [records, setRecords] = useState<AuditRecord[]>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [moreBusy, setMoreBusy] = useState(false);
  const [moreError, setMoreError] = useState<unknown>();
  // Answers to an older question (filters since changed) are dropped.
  const asking = useRef(0);

  const load = useCallback((filters: AuditFilters) => {
    const ask = ++asking.current;
    setRecords(undefined);
    setNext(null);
    setError(undefined);
    setMoreError(undefined);
    setMoreBusy(false);
    apiClient.listAudit(auditQuery(filters)).then(
      (page) => {
        if (ask !== asking.current) return;
        setRecords(page.records);
        setNext(page.nextCursor);
      },
      (err: unknown) => {
        if (ask === asking.current) setError(err);
      },
    );
  }, []);
  useEffect(() => load(applied), [load, applied]);

  const loadMore = () => {
    if (!next) return;
    const ask = asking.current;
    setMoreBusy(true);
    setMoreError(undefined);
    apiClient.listAudit(auditQuery(applied, next)).then(
      (page) => {
        if (ask !== asking.current) return;
        setRecords((shown) => [...(shown ?? []), ...page.records]);
        setNext(page.nextCursor);
        setMoreBusy(false);
      },
      (err: unknown) => {
        if (ask !== asking.current) return;
        setMoreError(err);
        setMoreBusy(false);
      },
    );
  };

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ ...draft });
  };
  /** A request id in the table: every record of that operation (the call and the cloud changes it caused). */
  const showRequest = (requestId: string) => {
    const only = { ...NO_FILTERS, requestId };
    setDraft(only);
    setApplied(only);
  };
  const clear = () => {
    setDraft(NO_FILTERS);
    setApplied(NO_FILTERS);
  };
  const field = (key: keyof AuditFilters) => ({ value: draft[key], onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value })) });

  return (
    <section className="page" aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit trail</h1>
      </div>
      <p className="hint">One record per change made through the API (refusals included), newest first. Secrets in request bodies are redacted by the controller; a secret a call issued is named, never shown.</p>
      <form className="filters audit-filters" onSubmit={apply} aria-label="Audit filters">
        <label>
          Actor
          <input type="search" {...field('actor')} placeholder="API_TOKEN, a token's name" maxLength={200} />
        </label>
        <label>
          Target
          <input type="search" {...field('target')} placeholder="an id" maxLength={200} />
        </label>
        <label>
          Action
          <input type="search" {...field('action')} placeholder="DELETE /api/links/:id" maxLength={200} />
        </label>
        <label>
          Request id
          <input type="search" {...field('requestId')} placeholder="an X-Request-Id" maxLength={64} />
        </label>
        <label>
          From (local time)
          <input type="datetime-local" step={1} {...field('since')} />
        </label>
        <label>
          Until (local time)
          <input type="datetime-local" step={1} {...field('until')} />
        </label>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear} disabled={!filtered(draft) && !filtered(applied)}>
            Clear
          </button>
        </div>
      </form>
      <ErrorNote error={error}>
        <button type="button" onClick={() => load(applied)}>
          Try again
        </button>
      </ErrorNote>
      {!records && !error && <Loading what="the audit trail" />}
      <p className="hint" aria-live="polite">
        {records ? `${records.length} record${records.length === 1 ? '' : 's'} shown${next ? ', more to load' : ''}` : ''}
      </p>
      {records?.length === 0 && <p>{filtered(applied) ? 'No audit records match these filters.' : 'No audit records yet: none of the API calls so far changed anything.'}</p>}
      {records && records.length > 0 && (
        <table className="list audit">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
              <th scope="col">Request id</th>
              <th scope="col">Body</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <AuditRow key={r.id} record={r} onRequest={showRequest} />
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={moreError} />
      {records && next && (
        <button type="button" onClick={loadMore} disabled={moreBusy}>
          {moreBusy ? 'Loading more…' : 'Load more'}
        </button>
      )}
    </section>
  );
}

function AuditRow({ record: r, onRequest }: { record: AuditRecord; onRequest: (requestId: string) => void }) {
  const ok = r.status >= 200 && r.status < 300;
  return (
    <tr>
      <td>
        <time dateTime={r.at}>{new Date(r.at).toLocaleString()}</time>
      </td>
      <td>
        {r.actor}
        <div className="hint mono">{r.source}</div>
      </td>
      <td>
        <span className="mono">{r.action}</span>
        {r.secret && <div className="hint">issued: {r.secret}</div>}
      </td>
      <td className="mono">{r.target ?? '—'}</td>
      <td className={ok ? 'status-ok' : 'status-failed'}>{r.status}</td>
      <td className="mono">
        {r.requestId ? (
          <button type="button" className="linkish mono" onClick={() => onRequest(r.requestId)} title="Show every record of this request">
            {r.requestId}
          </button>
        ) : (
          '—'
        )}
      </td>
      <td>
        {r.body === null || r.body === undefined ? (
          <span className="hint">none</span>
        ) : (
          <details>
            <summary>
              Show body<span className="sr-only"> of {r.action} at {new Date(r.at).toLocaleString()}</span>
            </summary>
            <pre className="audit-body">{JSON.stringify(r.body, null, 2)}</pre>
          </details>
        )}
      </td>
    </tr>
  );
}
