// @vitest-environment happy-dom
// The console shows only what the caller's role may do (GET /api/whoami), and admins get a Tokens
// page: the list without secrets, a new token shown once, revocation.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import GatewaysPage from '../../web/src/pages/GatewaysPage';
import AccountsPage from '../../web/src/pages/AccountsPage';
import TokensPage from '../../web/src/pages/TokensPage';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import { apiClient, type ApiToken, type Role } from '../../web/src/api/client';
import { resetRole } from '../../web/src/api/role';
import { axeViolations, gateway, json } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  resetRole();
});

type Handler = (req: Request, path: string) => Response | undefined | Promise<Response | undefined>;

function stubApi(role: Role | null, more: Handler = () => undefined) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const body: unknown = req.method === 'POST' ? await req.clone().json() : undefined;
    sent.push({ method: req.method, path, body });
    if (path === '/api/whoami') return role ? json(200, { role, actor: `${role}-token`, via: 'api-token', tokenId: 'tk1' }) : json(404, { error: { code: 'not_found', message: 'no route' } });
    return (await more(req, path)) ?? json(404, { error: { code: 'not_found', message: 'no' } });
  });
  return sent;
}

async function renderGateways() {
  const store = new LiveStore({ ...apiClient, listGateways: async () => [gateway('gw1', 'dc-beijing', ['10.1.0.0/24'])], listLinks: async () => [] }, { fetch: async () => new Response('{}', { status: 404 }) });
  store.start();
  const view = render(
    <LiveContext.Provider value={store}>
      <GatewaysPage register={false} />
    </LiveContext.Provider>,
  );
  await screen.findByText('dc-beijing');
  return { ...view, store };
}

const account = { id: 'ac1', name: 'prod', provider: 'aws', credentials: 'provider default chain', endpoints: {}, createdAt: '2026-11-30T00:00:00.000Z' };

describe('the role-aware console', () => {
  it('hides Register, Edit, Rotate and Delete from a viewer', async () => {
    stubApi('viewer');
    const { store } = await renderGateways();
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Register gateway' })).toBeNull());
    expect(screen.queryByRole('button', { name: 'Delete dc-beijing' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit dc-beijing' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rotate the agent secret of dc-beijing' })).toBeNull();
    store.stop();
  });

  it.each(['operator', 'admin', null] as const)('shows them to %s (null: a controller without /api/whoami)', async (role) => {
    stubApi(role);
    const { store } = await renderGateways();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(screen.getByRole('button', { name: 'Register gateway' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Delete dc-beijing' })).toBeTruthy();
    store.stop();
  });

  it('shows cloud-account writes to admins only', async () => {
    stubApi('operator', (req, path) => (path === '/api/cloud-accounts' ? json(200, { accounts: [account] }) : undefined));
    render(<AccountsPage />);
    await screen.findByText('prod');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Add account' })).toBeNull());
    expect(screen.queryByRole('button', { name: 'Delete account prod' })).toBeNull();
    cleanup();
    resetRole();
    stubApi('admin', (req, path) => (path === '/api/cloud-accounts' ? json(200, { accounts: [account] }) : undefined));
    render(<AccountsPage />);
    await screen.findByText('prod');
    expect(await screen.findByRole('button', { name: 'Add account' })).toBeTruthy();
  });

  it('lets an admin list, create (shown once) and revoke tokens', async () => {
    const tokens: ApiToken[] = [{ id: 'tk1', name: 'ci', role: 'operator', prefix: 'imt_abcdefgh…', createdBy: 'cli', createdAt: '2026-11-30T00:00:00.000Z', expiresAt: null, lastUsedAt: null, revokedAt: null, state: 'active' }];
    const sent = stubApi('admin', async (req, path) => {
      if (path === '/api/tokens' && req.method === 'GET') return json(200, { tokens });
      if (path === '/api/tokens' && req.method === 'POST') {
        const body = (await req.json()) as { name: string; role: Role };
        const made: ApiToken = { ...tokens[0]!, id: 'tk2', name: body.name, role: body.role, prefix: 'imt_zyxwvuts…', createdBy: 'admin-token' };
        tokens.push(made);
        return json(201, { ...made, token: 'imt_zyxwvuts-the-secret-shown-once-000000000000' });
      }
      if (path === '/api/tokens/tk1' && req.method === 'DELETE') {
        tokens[0] = { ...tokens[0]!, state: 'revoked', revokedAt: '2026-11-30T01:00:00.000Z' };
        return new Response(null, { status: 204 });
      }
      return undefined;
    });
    const user = userEvent.setup();
    const { container } = render(<TokensPage />);
    await screen.findByText('ci');
    expect(screen.getByText('imt_abcdefgh…')).toBeTruthy();
    expect(await axeViolations(container)).toEqual([]);

    await user.click(screen.getByRole('button', { name: 'Create token' }));
    const dialog = await screen.findByRole('dialog', { name: 'Create API token' });
    await user.type(within(dialog).getByLabelText('Name'), 'grafana');
    await user.selectOptions(within(dialog).getByLabelText('Role'), 'viewer');
    await user.type(within(dialog).getByLabelText(/Expires after/), '30');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    const shown = await screen.findByRole('dialog', { name: 'New API token' });
    expect(shown.textContent).toContain('imt_zyxwvuts-the-secret-shown-once-000000000000');
    expect(sent.find((s) => s.method === 'POST')?.body).toEqual({ name: 'grafana', role: 'viewer', expiresInDays: 30 });
    await user.click(within(shown).getByRole('button', { name: 'Done' }));
    await screen.findByText('grafana');
    expect(document.body.textContent).not.toContain('the-secret-shown-once');

    await user.click(screen.getByRole('button', { name: 'Revoke token ci' }));
    const confirm = await screen.findByRole('dialog', { name: 'Revoke API token' });
    await user.click(within(confirm).getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Revoke token ci' })).toBeNull());
    expect(sent.some((s) => s.method === 'DELETE' && s.path === '/api/tokens/tk1')).toBe(true);
  });
});
