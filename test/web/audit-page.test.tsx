// @vitest-environment happy-dom
// The console's Audit page drives the real API client against a fetch that answers GET /api/audit
// as api/audit.ts does: the query read by the API's own schema, records through auditView, the
// page checked against the AuditList schema. Filters become query parameters, "Load more" sends
// the nextCursor and appends, and the nav link is there only for roles that may read the trail.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import AuditPage from '../../web/src/pages/AuditPage';
import { App } from '../../web/src/App';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import { apiClient, type Role } from '../../web/src/api/client';
import { resetRole } from '../../web/src/api/role';
import { auditView } from '../../api/audit';
import { AuditList, AuditQuery, type AuditListView, type AuditRecordView } from '../../api/schemas/audit';
import type { AuditRecord } from '../../store/audit';
import { forbidden, invalid } from '../../lib/errors';
import { axeViolations, errorResponse, json } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  resetRole();
  window.history.replaceState(null, '', '/');
});

const T0 = Date.parse('2026-11-30T12:00:00.000Z');
const pad = (n: number) => String(n).padStart(2, '0');
/** A time as a datetime-local input holds it: the browser's local time. */
const local = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/** Stored records as store/audit.ts keeps them, ids ascending with time. */
function stored(n: number): AuditRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    at: new Date(T0 + i * 60_000),
    actor: i % 2 ? 'ci' : 'API_TOKEN',
    tokenId: i % 2 ? 'tk1' : null,
    source: '10.0.0.9',
    action: i === n - 1 ? 'POST /api/cloud-accounts' : 'DELETE /api/links/:id',
    target: i === n - 1 ? `ac${i + 1}` : `ln${i + 1}`,
    body: i === n - 1 ? JSON.stringify({ name: 'prod', provider: 'aws', credentials: '[redacted]' }) : null,
    status: i === n - 2 ? 403 : 200,
    requestId: `req-${i + 1}`,
    secret: null,
  }));
}

type Handler = (req: Request, url: URL) => Response | undefined | Promise<Response | undefined>;

/**
 * The controller as far as the console asks it: whoami for `role`, and GET /api/audit over
 * `records` the way api/audit.ts answers (a query its schema refuses gets the API's 400).
 */
function stubApi(role: Role | null, records: AuditRecord[], more: Handler = () => undefined) {
  const asked: URLSearchParams[] = [];
  vi.stubGlobal('fetch', async (input: Request | string, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(new URL(input, 'http://127.0.0.1:8080/'), init);
    const url = new URL(req.url);
    const answer = await more(req, url);
    if (answer) return answer;
    if (url.pathname === '/api/whoami') return role ? json(200, { role, actor: `${role}-token`, via: 'api-token', tokenId: 'tk9' }) : json(404, { error: { code: 'not_found', message: 'no route' } });
    if (url.pathname === '/api/audit') {
      asked.push(url.searchParams);
      const parsed = AuditQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!parsed.success) return errorResponse(invalid(`invalid request: ${parsed.error.message}`));
      const q = parsed.data;
      const limit = q.limit ?? 100;
      const page = records
        .filter((r) => (q.actor === undefined || r.actor === q.actor) && (q.target === undefined || r.target === q.target) && (q.action === undefined || r.action === q.action) && (q.requestId === undefined || r.requestId === q.requestId))
        .filter((r) => (!q.since || r.at >= new Date(q.since)) && (!q.until || r.at < new Date(q.until)) && (!q.cursor || r.id < Number(q.cursor)))
        .sort((a, b) => b.id - a.id)
        .slice(0, limit);
      const last = page.at(-1);
      const body: AuditListView = AuditList.parse({ records: page.map(auditView), nextCursor: page.length === limit && last ? String(last.id) : null });
      return json(200, body);
    }
    if (url.pathname === '/api/gateways') return json(200, { gateways: [] });
    if (url.pathname === '/api/links') return json(200, { links: [] });
    return json(404, { error: { code: 'not_found', message: 'no' } });
  });
  return asked;
}

const rows = () => screen.getAllByRole('row').slice(1);

describe('the Audit page', () => {
  it('lists records newest first, shows a redacted body on demand, and passes axe', async () => {
    const records = stored(3);
    stubApi('auditor', records);
    const user = userEvent.setup();
    const { container } = render(<AuditPage />);
    expect(screen.getByRole('status').textContent).toContain('Loading the audit trail');
    await screen.findByText('req-3');
    expect(rows()).toHaveLength(3);
    const first = within(rows()[0]!);
    const view: AuditRecordView = auditView(records[2]!);
    expect(first.getByText(view.action)).toBeTruthy();
    expect(first.getByText(view.target!)).toBeTruthy();
    expect(first.getByText('200')).toBeTruthy();
    expect(first.getByText(view.actor)).toBeTruthy();
    expect(rows()[0]!.querySelector('time')?.getAttribute('dateTime')).toBe(view.at);
    expect(within(rows()[1]!).getByText('403')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(await axeViolations(container)).toEqual([]);

    const summary = first.getByText('Show body');
    const details = summary.closest('details')!;
    expect(details.open).toBe(false);
    await user.click(summary);
    await waitFor(() => expect(details.open).toBe(true));
    const pre = details.querySelector('pre')!;
    expect(JSON.parse(pre.textContent)).toEqual({ name: 'prod', provider: 'aws', credentials: '[redacted]' });
    // Records without a body have nothing to expand.
    expect(within(rows()[1]!).queryByText('Show body')).toBeNull();
  });

  it('shows one operation: a request id typed, or clicked in the table, asks for its records only', async () => {
    const asked = stubApi('admin', stored(6));
    const user = userEvent.setup();
    render(<AuditPage />);
    await screen.findByText('req-6');
    await user.click(screen.getByRole('button', { name: 'req-3' }));
    await waitFor(() => expect(asked.at(-1)!.get('requestId')).toBe('req-3'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.getByLabelText<HTMLInputElement>('Request id').value).toBe('req-3');
    await user.clear(screen.getByLabelText('Request id'));
    await user.type(screen.getByLabelText('Request id'), 'req-5{Enter}');
    await waitFor(() => expect(Object.fromEntries(asked.at(-1)!)).toEqual({ limit: '100', requestId: 'req-5' }));
    await screen.findByRole('button', { name: 'req-5' });
    expect(rows()).toHaveLength(1);
  });

  it('sends the filters as query parameters, from the keyboard', async () => {
    const asked = stubApi('admin', stored(6));
    const user = userEvent.setup();
    render(<AuditPage />);
    await screen.findByText('req-6');
    expect(Object.fromEntries(asked[0]!)).toEqual({ limit: '100' });

    await user.click(screen.getByLabelText('Actor'));
    await user.keyboard('ci');
    await user.type(screen.getByLabelText('Target'), 'ln4');
    await user.type(screen.getByLabelText('Action'), 'DELETE /api/links/:id');
    // datetime-local values are the browser's local time; the API gets them as ISO times.
    const since = local(T0 - 3_600_000);
    const until = local(T0 + 3_600_000);
    await user.type(screen.getByLabelText('From (local time)'), since);
    await user.type(screen.getByLabelText('Until (local time)'), until);
    await user.type(screen.getByLabelText('Action'), '{Enter}');
    await waitFor(() => expect(asked).toHaveLength(2));
    expect(Object.fromEntries(asked[1]!)).toEqual({ limit: '100', actor: 'ci', target: 'ln4', action: 'DELETE /api/links/:id', since: new Date(since).toISOString(), until: new Date(until).toISOString() });
    await screen.findByText('req-4');
    expect(rows()).toHaveLength(1);

    await user.clear(screen.getByLabelText('Target'));
    await user.type(screen.getByLabelText('Target'), 'nothing-here{Enter}');
    expect(await screen.findByText('No audit records match these filters.')).toBeTruthy();
    expect(asked.at(-1)!.get('target')).toBe('nothing-here');

    await user.click(screen.getByRole('button', { name: 'Clear' }));
    await screen.findByText('req-6');
    expect(Object.fromEntries(asked.at(-1)!)).toEqual({ limit: '100' });
    expect(screen.getByLabelText<HTMLInputElement>('Actor').value).toBe('');
  });

  it('appends the next page with the cursor, keeping the filters', async () => {
    const asked = stubApi('admin', stored(230));
    const user = userEvent.setup();
    render(<AuditPage />);
    await screen.findByText('req-230');
    expect(rows()).toHaveLength(100);

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('req-130');
    expect(asked[1]!.get('cursor')).toBe('131');
    expect(rows()).toHaveLength(200);
    expect(screen.getByText('req-230')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('req-1');
    expect(asked[2]!.get('cursor')).toBe('31');
    expect(rows()).toHaveLength(230);
    expect(rows().map((r) => r.textContent).filter((t) => t?.includes('req-1')).length).toBeGreaterThan(0);
    // The last page was short: nothing more to load.
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(screen.getByText('230 records shown')).toBeTruthy();

    // Paging after filtering keeps the filters in the query.
    await user.type(screen.getByLabelText('Actor'), 'ci{Enter}');
    await screen.findByText('req-230');
    await waitFor(() => expect(rows()).toHaveLength(100));
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(rows()).toHaveLength(115));
    expect(asked.at(-1)!.get('actor')).toBe('ci');
    expect(asked.at(-1)!.get('cursor')).toBe('32');
  });

  it('says when there are no records, and shows a refusal with a way to try again', async () => {
    stubApi('admin', []);
    render(<AuditPage />);
    expect(await screen.findByText(/No audit records yet/)).toBeTruthy();
    cleanup();

    let refuse = true;
    stubApi('admin', stored(2), (req, url) => (url.pathname === '/api/audit' && refuse ? errorResponse(forbidden('the role viewer may not read the audit trail')) : undefined));
    const user = userEvent.setup();
    const { container } = render(<AuditPage />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('the role viewer may not read the audit trail');
    expect(await axeViolations(container)).toEqual([]);
    refuse = false;
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    await screen.findByText('req-2');
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('the Audit link in the navigation', () => {
  async function renderAt(path: string) {
    window.history.replaceState(null, '', path);
    const store = new LiveStore({ ...apiClient, listGateways: async () => [], listLinks: async () => [] }, { fetch: async () => new Response('{}', { status: 404 }) });
    const view = render(
      <LiveContext.Provider value={store}>
        <App />
      </LiveContext.Provider>,
    );
    return { ...view, store };
  }

  it('is hidden for a viewer, and /audit says why', async () => {
    stubApi('viewer', stored(2));
    const { store } = await renderAt('/audit');
    expect(await screen.findByText(/Only an admin or an auditor reads the audit trail; this token's role is viewer/)).toBeTruthy();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Audit' })).toBeNull();
    expect(within(nav).getByRole('link', { name: 'Links' })).toBeTruthy();
    store.stop();
  });

  it.each(['auditor', 'admin', null] as const)('is shown to %s (null: a controller without /api/whoami) and opens the page', async (role) => {
    stubApi(role, stored(2));
    const { store } = await renderAt('/links');
    const nav = screen.getByRole('navigation', { name: 'Main' });
    const user = userEvent.setup();
    if (role) await new Promise((resolve) => setTimeout(resolve, 20));
    await user.click(within(nav).getByRole('link', { name: 'Audit' }));
    expect(window.location.pathname).toBe('/audit');
    expect(await screen.findByRole('heading', { name: 'Audit trail' })).toBeTruthy();
    await screen.findByText('req-2');
    expect(within(nav).getByRole('link', { name: 'Audit' }).getAttribute('aria-current')).toBe('page');
    store.stop();
  });
});
