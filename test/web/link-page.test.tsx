// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import LinkPage from '../../web/src/pages/LinkPage';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import { apiClient } from '../../web/src/api/client';
import { configFor, describeChange, diffPlans, type LinkPlan } from '../../contracts/link-plan';
import { axeViolations, gateway, json, link } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const dc = gateway('gw-dc', 'dc-beijing', ['10.1.0.0/24', '10.1.8.0/24'], { endpoint: '198.51.100.10', publicIp: '198.51.100.10' });
const vpc = gateway('gw-vpc', 'vpc-hangzhou', ['172.16.0.0/16'], {
  provider: 'aliyun',
  endpoint: '203.0.113.20',
  cloud: { account: 'acc1', region: 'cn-hangzhou', instanceId: 'i-gw', privateIp: '172.16.0.5', vpcId: 'vpc-1', subnetId: 'vsw-1', routeTableIds: ['vtb-main'], securityGroupIds: ['sg-1'], discoveredAt: null },
});
const up = link('lnk1', dc, vpc, 'up', { a: { id: dc.id, name: dc.name, cidrs: ['10.1.0.0/24'], tunnelUp: true } });
const events = [{ at: '2026-11-30T00:00:00.000Z', type: 'link.up', message: 'CHILD_SA installed on both dc-beijing and vpc-hangzhou', data: null }];

function plan(aCidrs: string[]): LinkPlan {
  return {
    linkId: 'lnk1',
    name: 'lnk1',
    state: 'up',
    initiator: 'a',
    a: { gatewayId: dc.id, gatewayName: dc.name, endpoint: '198.51.100.10', cidrs: aCidrs, identity: 'gw-dc' },
    b: { gatewayId: vpc.id, gatewayName: vpc.name, endpoint: '203.0.113.20', cidrs: ['172.16.0.0/16'], identity: 'gw-vpc', cloud: { ref: { provider: 'aliyun', accountId: 'acc1', region: 'cn-hangzhou' }, instanceId: 'i-gw', routeTableIds: ['vtb-main'], securityGroupIds: ['sg-1'] } },
  };
}

/** The /plan answer for a change of the dc end's networks, as api/links.ts builds it. */
function previewOf(to: string[]) {
  const from = plan(['10.1.0.0/24']);
  const next = plan(to);
  const change = diffPlans(from, next);
  const side = (s: 'a' | 'b') => {
    const { version: _b, ...before } = configFor(from, s, 0);
    const { version: _a, ...after } = configFor(next, s, 0);
    return { gateway: { id: next[s].gatewayId, name: next[s].gatewayName }, cidrs: { before: from[s].cidrs, after: next[s].cidrs }, config: { changed: change[s].config, before, after }, routes: { add: change[s].routesAdded, remove: change[s].routesRemoved }, securityGroupRules: { add: [], remove: [] } };
  };
  return { changed: !change.none, summary: describeChange(from, next, change), tunnelRestart: change.a.config || change.b.config, a: side('a'), b: side('b') };
}

/** GET /api/links/lnk1/teardown as api/links.ts answers it: one route made, one adopted, one rule shared. */
const vpcRef = { id: vpc.id, name: vpc.name };
const teardown = {
  linkId: 'lnk1',
  routes: [
    { gateway: vpcRef, routeTableId: 'vtb-main', destinationCidr: '10.1.0.0/24', instanceId: 'i-gw', removed: true },
    { gateway: vpcRef, routeTableId: 'vtb-spare', destinationCidr: '10.1.0.0/24', instanceId: 'i-gw', removed: false, keptBecause: 'the same route existed before the link; it stays' },
  ],
  rules: [{ gateway: vpcRef, securityGroupId: 'sg-1', peerIp: '198.51.100.10', removed: false, keptBecause: 'link lnk2 still needs it' }],
};

function setup() {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  let push: (text: string) => void = () => undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (text) => controller.enqueue(new TextEncoder().encode(text));
      push('event: hello\ndata: {}\n\n');
    },
  });
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const body: unknown = req.method === 'GET' || req.method === 'DELETE' ? undefined : await req.json();
    sent.push({ method: req.method, path, body });
    if (path === '/api/links/lnk1' && req.method === 'GET') return json(200, { ...up, events });
    if (path === '/api/links/lnk1/plan') return json(200, previewOf((body as { cidrs: { a: string[] } }).cidrs.a));
    if (path === '/api/links/lnk1' && req.method === 'PATCH') return json(202, { ...up, state: 'updating', plan: previewOf(['10.1.8.0/24']) });
    if (path === '/api/links/lnk1' && req.method === 'DELETE') return json(202, { ...up, state: 'deleting' });
    if (path === '/api/links/lnk1/teardown') return json(200, teardown);
    return json(404, { error: { code: 'not_found', message: 'no' } });
  });
  // The lists come straight from the fixtures; the link itself goes through the real client.
  const api = { ...apiClient, listGateways: async () => [dc, vpc], listLinks: async () => [up] };
  const store = new LiveStore(api, { fetch: async () => new Response(stream, { status: 200 }) });
  const send = (event: string, data: unknown) =>
    act(async () => {
      push(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
    });
  return { store, sent, send };
}

describe('LinkPage', () => {
  it('previews a CIDR change as a diff, applies it, and follows the link back to up', async () => {
    const user = userEvent.setup();
    const { store, sent, send } = setup();
    store.start();
    const { container } = render(
      <LiveContext.Provider value={store}>
        <LinkPage id="lnk1" />
      </LiveContext.Provider>,
    );
    await screen.findByRole('heading', { name: 'dc-beijing ⇄ vpc-hangzhou' });
    expect(await screen.findByText('CHILD_SA installed on both dc-beijing and vpc-hangzhou')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Open its workflow in the Temporal UI' }).getAttribute('href')).toBe(up.workflowUrl);

    await user.click(screen.getByRole('button', { name: 'Change CIDRs' }));
    const input = screen.getByLabelText('Networks dc-beijing carries');
    await user.clear(input);
    await user.type(input, '10.1.8.0/24');
    await user.click(screen.getByRole('button', { name: 'Preview change' }));
    const vpcEnd = await screen.findByRole('region', { name: 'end B: vpc-hangzhou' });
    expect(within(vpcEnd).getByText(/route added/).parentElement!.textContent).toContain('10.1.8.0/24 → i-gw');
    expect(within(vpcEnd).getByText(/route removed/).parentElement!.textContent).toContain('10.1.0.0/24 → i-gw');
    expect(sent.find((r) => r.path === '/api/links/lnk1/plan')!.body).toEqual({ cidrs: { a: ['10.1.8.0/24'] } });
    expect(await axeViolations(container)).toEqual([]);

    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(sent.find((r) => r.method === 'PATCH')!.body).toEqual({ cidrs: { a: ['10.1.8.0/24'] } });
    expect(await screen.findByText(/Applying the change/)).toBeTruthy();
    await send('link-event', { linkId: 'lnk1', event: { at: '2026-11-30T00:01:00.000Z', type: 'link.changed', message: 'applied: dc-beijing carries 10.1.8.0/24', data: null } });
    await send('link', { id: 'lnk1', link: { ...up, a: { ...up.a, cidrs: ['10.1.8.0/24'] } } });
    expect(screen.getByText('Finished: the link is up.')).toBeTruthy();
    expect(screen.getByText('applied: dc-beijing carries 10.1.8.0/24')).toBeTruthy();
    store.stop();
  });

  it('names the routes and rules a delete removes before deleting', async () => {
    const user = userEvent.setup();
    const { store, sent } = setup();
    store.start();
    render(
      <LiveContext.Provider value={store}>
        <LinkPage id="lnk1" />
      </LiveContext.Provider>,
    );
    await screen.findByRole('heading', { name: 'dc-beijing ⇄ vpc-hangzhou' });
    await vi.waitFor(() => expect(store.getState().loaded).toBe(true));
    await user.click(screen.getByRole('button', { name: 'Delete link' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete link' });
    // What the controller's records say the link holds: removed, kept (and why), shared.
    await within(dialog).findByText('Routes removed:');
    const [removed, kept, rules] = within(dialog).getAllByRole('list');
    expect(removed!.textContent).toBe('vpc-hangzhou: vtb-main 10.1.0.0/24 → i-gw');
    expect(kept!.textContent).toContain('vpc-hangzhou: vtb-spare 10.1.0.0/24 → i-gw (the same route existed before the link; it stays)');
    expect(rules!.textContent).toContain('kept — vpc-hangzhou: sg-1 IKE/NAT-T from 198.51.100.10 (link lnk2 still needs it)');
    expect(sent.some((r) => r.path === '/api/links/lnk1/teardown')).toBe(true);
    expect(await axeViolations(dialog)).toEqual([]);
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    await user.click(within(dialog).getByRole('button', { name: 'Delete link' }));
    await vi.waitFor(() => expect(sent.some((r) => r.method === 'DELETE')).toBe(true));
    expect(await screen.findByText(/Being deleted/)).toBeTruthy();
    store.stop();
  });
});
