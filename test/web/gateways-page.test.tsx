// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import GatewaysPage from '../../web/src/pages/GatewaysPage';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import { apiClient } from '../../web/src/api/client';
import type { Gateway } from '../../web/src/api/types';
import { axeViolations, gateway, json } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const cloud = (id: string, name: string, extra: Partial<Gateway>) =>
  gateway(id, name, [], { provider: 'aws', cloud: { account: 'acc1', region: 'us-east-1', instanceId: null, privateIp: null, vpcId: null, subnetId: null, routeTableIds: [], securityGroupIds: [], discoveredAt: null }, ...extra });

const listed = [
  gateway('gw1', 'dc-beijing', ['10.1.0.0/24'], { online: true }),
  cloud('gw2', 'vpc-new', { state: 'discovering' }),
  cloud('gw3', 'vpc-gone', { state: 'failed', stateReason: 'no instance has the public IP 203.0.113.9 in us-east-1' }),
  cloud('gw4', 'vpc-ok', {
    cidrs: ['172.31.0.0/16'],
    cloud: { account: 'acc1', region: 'us-east-1', instanceId: 'i-0abc', privateIp: '172.31.0.4', vpcId: 'vpc-0def', subnetId: 'subnet-1', routeTableIds: ['rtb-1', 'rtb-2'], securityGroupIds: ['sg-1'], discoveredAt: '2026-11-30T00:00:00.000Z' },
  }),
];

async function renderPage(register = false) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const body: unknown = req.method === 'POST' ? await req.json() : undefined;
    sent.push({ method: req.method, path, body });
    if (path === '/api/gateways' && req.method === 'POST') return json(201, { ...gateway('gw9', 'dc-hk', ['10.9.0.0/24']), agentSecret: 'S3cret-shown-once-0123456789', agentUrl: 'https://ctl.example.net:8443' });
    return json(404, { error: { code: 'not_found', message: 'no' } });
  });
  const store = new LiveStore({ ...apiClient, listGateways: async () => listed, listLinks: async () => [] }, { fetch: async () => new Response('{}', { status: 404 }) });
  store.start();
  const view = render(
    <LiveContext.Provider value={store}>
      <GatewaysPage register={register} />
    </LiveContext.Provider>,
  );
  await screen.findByText('dc-beijing');
  return { ...view, store, sent };
}

describe('GatewaysPage', () => {
  it('shows each cloud gateway discovering, failed with the reason, or ready with what was found', async () => {
    const { container, store } = await renderPage();
    const row = (id: string) => container.querySelector(`[data-gateway-row="${id}"]`)!.textContent;
    expect(row('gw2')).toContain('discovering');
    expect(row('gw3')).toContain('failed: no instance has the public IP 203.0.113.9 in us-east-1');
    expect(row('gw4')).toMatch(/ready.*instance i-0abc · VPC vpc-0def · route tables rtb-1, rtb-2/);
    expect(row('gw1')).toContain('not needed (on-prem)');
    expect(await axeViolations(container)).toEqual([]);
    store.stop();
  });

  it('registers an on-prem gateway and shows its secret once, in the command that starts its agent', async () => {
    const user = userEvent.setup();
    const { store, sent } = await renderPage(true);
    const dialog = screen.getByRole('dialog', { name: 'Register gateway' });
    await user.type(within(dialog).getByLabelText('Name'), 'dc-hk');
    await user.type(within(dialog).getByLabelText('Networks (CIDRs)'), '10.9.0.0/24, 10.9.4.0/24');
    await user.click(within(dialog).getByRole('button', { name: 'Register gateway' }));
    const secret = await screen.findByRole('dialog', { name: 'Agent secret' });
    expect(sent.find((r) => r.method === 'POST')!.body).toEqual({ name: 'dc-hk', provider: 'onprem', cidrs: ['10.9.0.0/24', '10.9.4.0/24'] });
    const command = within(secret).getByLabelText('Command to start the agent').textContent;
    expect(command).toContain('GATEWAY_ID=gw9');
    expect(command).toContain('GATEWAY_SECRET=S3cret-shown-once-0123456789');
    expect(command).toContain('CONTROLLER_URL=https://ctl.example.net:8443');
    expect(await axeViolations(secret)).toEqual([]);
    await user.click(within(secret).getByRole('button', { name: 'Done' }));
    // Once closed, the secret is nowhere on the page.
    expect(document.body.textContent).not.toContain('S3cret-shown-once');
    expect(screen.getByText('dc-hk')).toBeTruthy();
    store.stop();
  });
});
