// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import LinksPage from '../../web/src/pages/LinksPage';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import type { ApiClient } from '../../web/src/api/client';
import { axeViolations, gateway, link } from './helpers';

afterEach(cleanup);

const a = gateway('gw1', 'dc-beijing', ['10.1.0.0/24']);
const b = gateway('gw2', 'dc-shanghai', ['10.2.0.0/24']);
const c = gateway('gw3', 'vpc-hangzhou', ['172.16.0.0/16']);

describe('LinksPage', () => {
  it('lists links with state and reason, filtered by state and by name or CIDR', async () => {
    const user = userEvent.setup();
    const links = [link('l1', a, b, 'up'), link('l2', a, c, 'failed', { stateReason: 'route 10.1.0.0/24 in vtb-1 points elsewhere' }), link('l3', b, c, 'provisioning')];
    const store = new LiveStore({ listGateways: async () => [a, b, c], listLinks: async () => links } as unknown as ApiClient, { fetch: async () => new Response('{}', { status: 404 }) });
    store.start();
    const { container } = render(
      <LiveContext.Provider value={store}>
        <LinksPage />
      </LiveContext.Provider>,
    );
    await screen.findByText('3 links');
    const row = (id: string) => container.querySelector(`[data-link-row="${id}"]`);
    expect(row('l2')!.textContent).toContain('route 10.1.0.0/24 in vtb-1 points elsewhere');
    expect(screen.getByRole('link', { name: 'dc-beijing ⇄ vpc-hangzhou' }).getAttribute('href')).toBe('/links/l2');
    expect(await axeViolations(container)).toEqual([]);
    await user.selectOptions(screen.getByLabelText('State'), 'failed');
    expect(screen.getByText('1 link')).toBeTruthy();
    await user.selectOptions(screen.getByLabelText('State'), '');
    await user.type(screen.getByLabelText('Gateway or CIDR'), '172.16');
    expect(screen.getByText('2 links')).toBeTruthy();
    expect(row('l1')).toBeNull();
    store.stop();
  });
});
