// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from '../../web/src/App';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import { unauthorized } from '../../lib/errors';
import { axeViolations, errorResponse, gateway, json, withLayoutShim } from './helpers';

withLayoutShim();
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

const TOKEN = 'operator-token-0123456789';

describe('API token', () => {
  it('asks for the token on a 401, keeps it in sessionStorage only, and sends it as a bearer token', async () => {
    const user = userEvent.setup();
    const seen: (string | null)[] = [];
    vi.stubGlobal('fetch', async (input: Request | string, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(new URL(input, 'http://127.0.0.1:8080/'), init);
      const path = new URL(req.url).pathname;
      if (path === '/api/events') return json(404, { error: { code: 'not_found', message: 'no stream' } });
      seen.push(req.headers.get('authorization'));
      if (req.headers.get('authorization') !== `Bearer ${TOKEN}`) return errorResponse(unauthorized('missing or wrong API token'));
      if (path === '/api/gateways') return json(200, { gateways: [gateway('gw1', 'dc-beijing', ['10.1.0.0/24'])] });
      return json(200, { links: [] });
    });
    const store = new LiveStore();
    render(
      <LiveContext.Provider value={store}>
        <App />
      </LiveContext.Provider>,
    );
    const dialog = await screen.findByRole('dialog', { name: 'API token' });
    expect(await axeViolations(dialog)).toEqual([]);
    await user.type(screen.getByLabelText('API token', { selector: 'input' }), 'wrong-token-xxxxxxxxxx{Enter}');
    // A wrong token is refused and asked for again.
    await screen.findByRole('dialog', { name: 'API token' });
    await user.type(screen.getByLabelText('API token', { selector: 'input' }), `${TOKEN}{Enter}`);
    await vi.waitFor(() => expect(document.querySelector('[data-gateway-id="gw1"]')).not.toBeNull());
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(sessionStorage.getItem('ipsec-mesh.apiToken')).toBe(TOKEN);
    expect(localStorage.length).toBe(0);
    expect(seen[0]).toBeNull();
    expect(seen.at(-1)).toBe(`Bearer ${TOKEN}`);
    store.stop();
  });
});
