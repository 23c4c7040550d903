// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TopologyMap } from '../../web/src/map/TopologyMap';
import { LiveContext } from '../../web/src/live/context';
import { LiveStore } from '../../web/src/live/store';
import type { ApiClient } from '../../web/src/api/client';
import type { Gateway, Link } from '../../web/src/api/types';
import { axeViolations, gateway, link, withLayoutShim } from './helpers';

withLayoutShim();
afterEach(cleanup);

const dc = gateway('gw1', 'dc-beijing', ['10.1.0.0/24'], { online: true, publicIp: '198.51.100.10', endpoint: '198.51.100.10' });
const sh = gateway('gw2', 'dc-shanghai', ['10.2.0.0/24']);
const vpc = gateway('gw3', 'vpc-hangzhou', ['172.16.0.0/16'], {
  provider: 'aliyun',
  cloud: { account: 'acc1', region: 'cn-hangzhou', instanceId: 'i-1', privateIp: '172.16.0.5', vpcId: 'vpc-1', subnetId: 'vsw-1', routeTableIds: ['vtb-1'], securityGroupIds: ['sg-1'], discoveredAt: null },
});

/** A store fed by a stream the test writes to, over lists the test gives. */
function liveStore(gateways: Gateway[], links: Link[]) {
  const encoder = new TextEncoder();
  let push: (text: string) => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (text) => controller.enqueue(encoder.encode(text));
      push('event: hello\ndata: {}\n\n');
    },
  });
  const api = { listGateways: async () => gateways, listLinks: async () => links } as unknown as ApiClient;
  const store = new LiveStore(api, { fetch: async () => new Response(body, { status: 200 }) });
  const send = (event: string, data: unknown) => act(async () => {
    push(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    await new Promise((r) => setTimeout(r, 20));
  });
  return { store, send };
}

async function renderMap(store: LiveStore) {
  const result = render(
    <LiveContext.Provider value={store}>
      <TopologyMap />
    </LiveContext.Provider>,
  );
  store.start();
  await vi.waitFor(() => expect(screen.getByTestId('topology').getAttribute('data-ready')).toBe('true'), { timeout: 5000 });
  return result;
}

describe('TopologyMap', () => {
  it('draws every gateway and every link, and follows link state changes from the stream', async () => {
    const l = link('lnk1', dc, sh, 'provisioning');
    const { store, send } = liveStore([dc, sh, vpc], [l]);
    await renderMap(store);
    const ids = [...document.querySelectorAll('[data-gateway-id]')].map((n) => n.getAttribute('data-gateway-id')).sort();
    expect(ids).toEqual(['gw1', 'gw2', 'gw3']);
    const node = document.querySelector('[data-gateway-id="gw3"]')!;
    expect(node.textContent).toContain('vpc-hangzhou');
    expect(node.textContent).toContain('Alibaba Cloud');
    expect(node.textContent).toContain('cn-hangzhou');
    expect(node.textContent).toContain('172.16.0.0/16');
    expect(document.querySelector('[data-gateway-id="gw1"]')!.textContent).toContain('online');
    await vi.waitFor(() => expect(document.querySelector('[data-link-id="lnk1"]')?.getAttribute('data-state')).toBe('provisioning'));

    await send('link', { id: 'lnk1', link: { ...l, state: 'up' } });
    expect(document.querySelector('[data-link-id="lnk1"]')!.getAttribute('data-state')).toBe('up');
    await send('link', { id: 'lnk2', link: link('lnk2', sh, vpc, 'failed') });
    await vi.waitFor(() => expect(document.querySelector('[data-link-id="lnk2"]')?.getAttribute('data-state')).toBe('failed'));
    await send('link', { id: 'lnk1', link: null });
    expect(document.querySelector('[data-link-id="lnk1"]')).toBeNull();
    store.stop();
  });

  it('keeps gateways where they are when a link or a gateway is added', async () => {
    const { store, send } = liveStore([dc, sh, vpc], []);
    await renderMap(store);
    const where = () => new Map([...document.querySelectorAll('.react-flow__node')].map((n) => [n.getAttribute('data-id'), (n as HTMLElement).style.transform]));
    const before = where();
    await send('link', { id: 'lnk9', link: link('lnk9', dc, vpc, 'provisioning') });
    await send('gateway', { id: 'gw4', gateway: gateway('gw4', 'dc-shenzhen', ['10.4.0.0/24']) });
    const after = where();
    for (const [id, transform] of before) expect(after.get(id), id ?? '').toBe(transform);
    expect(after.has('gw4')).toBe(true);
    store.stop();
  });

  it('connects two gateways from the keyboard: Enter on one, Enter on another opens the dialog', async () => {
    const user = userEvent.setup();
    const { store } = liveStore([dc, sh, vpc], []);
    const { container } = await renderMap(store);
    const nodeOf = (id: string) => document.querySelector<HTMLElement>(`.react-flow__node[data-id="${id}"]`)!;
    nodeOf('gw1').focus();
    await user.keyboard('{Enter}');
    expect(document.querySelector('.pick-hint')!.textContent).toContain('Picked dc-beijing');
    nodeOf('gw2').focus();
    await user.keyboard('{Enter}');
    const dialog = screen.getByRole('dialog', { name: 'Connect networks' });
    expect(within(dialog).getByRole<HTMLSelectElement>('combobox', { name: 'First end: gateway' }).value).toBe('gw1');
    expect(within(dialog).getByRole<HTMLSelectElement>('combobox', { name: 'Second end: gateway' }).value).toBe('gw2');
    // Both ends are chosen: the focus waits on Connect.
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Connect' }));
    expect(await axeViolations(container)).toEqual([]);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    store.stop();
  });

  it('finds gateways by name or by a network inside their CIDRs', async () => {
    const user = userEvent.setup();
    const { store } = liveStore([dc, sh, vpc], []);
    await renderMap(store);
    const search = screen.getByRole('searchbox', { name: 'Search gateways' });
    await user.type(search, '172.16.4.0/24');
    expect(screen.getByText('1 match')).toBeTruthy();
    expect(document.querySelector('[data-gateway-id="gw3"]')!.classList.contains('match')).toBe(true);
    await user.clear(search);
    await user.type(search, 'dc-');
    expect(screen.getByText('2 matches')).toBeTruthy();
    store.stop();
  });

  it('explains what to do first when there are no gateways', async () => {
    const { store } = liveStore([], []);
    const { container } = await renderMap(store);
    expect(screen.getByRole('heading', { name: 'No gateways yet' })).toBeTruthy();
    expect(screen.getAllByRole('link', { name: /Register (a )?gateway/ }).length).toBeGreaterThan(0);
    expect(await axeViolations(container)).toEqual([]);
    store.stop();
  });

  it('shows gateways where they were after a reload, including ones placed during the session', async () => {
    localStorage.clear();
    const where = () => new Map([...document.querySelectorAll('.react-flow__node')].map((n) => [n.getAttribute('data-id'), (n as HTMLElement).style.transform]));
    const first = liveStore([dc, sh, vpc], []);
    const view = await renderMap(first.store);
    const added = gateway('gw4', 'dc-shenzhen', ['10.4.0.0/24']);
    await first.send('gateway', { id: 'gw4', gateway: added });
    await first.send('link', { id: 'lnk4', link: link('lnk4', added, vpc, 'up') });
    const before = where();
    first.store.stop();
    view.unmount();
    // The same mesh, loaded fresh: a full layout would place gw4 elsewhere.
    const second = liveStore([dc, sh, vpc, added], [link('lnk4', added, vpc, 'up')]);
    await renderMap(second.store);
    expect(where()).toEqual(before);
    second.store.stop();
  });

  it('opens a link from the keyboard: Enter on its edge', async () => {
    const user = userEvent.setup();
    window.history.replaceState(null, '', '/');
    const { store } = liveStore([dc, sh], [link('lnk7', dc, sh, 'up')]);
    await renderMap(store);
    const edge = await vi.waitFor(() => document.querySelector<SVGGElement>('.react-flow__edge[data-id="lnk7"]')!);
    expect(edge.getAttribute('tabindex')).toBe('0');
    edge.focus();
    await user.keyboard('{Enter}');
    expect(window.location.pathname).toBe('/links/lnk7');
    store.stop();
  });
});
