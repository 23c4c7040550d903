// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { conflict } from '../../lib/errors';
import { ConnectDialog } from '../../web/src/map/ConnectDialog';
import { axeViolations, errorResponse, gateway, json, link } from './helpers';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const dc = gateway('gw1', 'dc-beijing', ['10.1.0.0/24', '10.1.8.0/24'], { online: true });
const sh = gateway('gw2', 'dc-shanghai', ['10.2.0.0/24']);
const sz = gateway('gw3', 'dc-shenzhen', ['10.3.0.0/24']);
const gateways = new Map([dc, sh, sz].map((g) => [g.id, g]));
const existing = link('lnk-old', dc, sz, 'up');
const links = new Map([[existing.id, existing]]);

/** Records what the dialog sends and answers as the API would. */
function api(answer: (body: unknown) => Response) {
  const sent: { method: string; url: string; body: unknown }[] = [];
  vi.stubGlobal('fetch', async (req: Request) => {
    const body: unknown = await req.json();
    sent.push({ method: req.method, url: new URL(req.url).pathname, body });
    return answer(body);
  });
  return sent;
}

describe('ConnectDialog', () => {
  it('shows a 409 in words, naming the other link, and links to it', async () => {
    const user = userEvent.setup();
    const sent = api(() => errorResponse(conflict(`10.3.0.0/24 overlaps 10.3.0.0/24, which gateway dc-beijing already reaches through link ${existing.id}`, { link: existing.id, cidr: '10.3.0.0/24' })));
    const onCreated = vi.fn();
    render(<ConnectDialog gateways={gateways} links={links} a="gw1" b="gw2" onClose={() => undefined} onCreated={onCreated} />);
    const dialog = screen.getByRole('dialog', { name: 'Connect networks' });
    await user.click(within(dialog).getByRole('button', { name: 'Connect' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toContain('Refused:');
    expect(alert.textContent).toContain(`already reaches through link ${existing.id}`);
    expect(within(alert).getByRole('link', { name: 'dc-beijing ⇄ dc-shenzhen (up)' }).getAttribute('href')).toBe(`/links/${existing.id}`);
    expect(sent).toEqual([{ method: 'POST', url: '/api/links', body: { a: 'gw1', b: 'gw2' } }]);
    expect(onCreated).not.toHaveBeenCalled();
    expect(await axeViolations(document.body)).toEqual([]);
  });

  it('sends only the networks left checked, and hands back the created link', async () => {
    const user = userEvent.setup();
    const created = link('lnk-new', dc, sh, 'provisioning');
    const sent = api(() => json(202, created));
    const onCreated = vi.fn();
    render(<ConnectDialog gateways={gateways} links={links} a="gw1" b="gw2" onClose={() => undefined} onCreated={onCreated} />);
    await user.click(screen.getByRole('checkbox', { name: '10.1.8.0/24' }));
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(created));
    expect(sent[0]!.body).toEqual({ a: 'gw1', b: 'gw2', cidrs: { a: ['10.1.0.0/24'] } });
  });

  it('works from the keyboard alone: choose both ends, confirm; Escape closes', async () => {
    const user = userEvent.setup();
    const sent = api(() => json(202, link('lnk-k', sh, sz, 'provisioning')));
    const onClose = vi.fn();
    const onCreated = vi.fn();
    render(<ConnectDialog gateways={gateways} links={links} onClose={onClose} onCreated={onCreated} />);
    const endA = screen.getByRole('combobox', { name: 'First end: gateway' });
    const endB = screen.getByRole('combobox', { name: 'Second end: gateway' });
    // Focus starts in the dialog, on the first end's gateway.
    expect(document.activeElement).toBe(endA);
    await user.selectOptions(endA, 'gw2');
    await user.selectOptions(endB, 'gw3');
    const connect = screen.getByRole('button', { name: 'Connect' });
    for (let i = 0; i < 10 && document.activeElement !== connect; i++) await user.tab();
    expect(document.activeElement).toBe(connect);
    await user.keyboard('{Enter}');
    await vi.waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(sent[0]!.body).toEqual({ a: 'gw2', b: 'gw3' });
    await user.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalled();
  });

  it('refuses a gateway linked to itself before asking the API', async () => {
    const user = userEvent.setup();
    const sent = api(() => json(500, {}));
    render(<ConnectDialog gateways={gateways} links={links} a="gw1" b="gw1" onClose={() => undefined} onCreated={() => undefined} />);
    await user.click(screen.getByRole('button', { name: 'Connect' }));
    expect(screen.getByRole('alert').textContent).toContain('a gateway cannot be linked to itself');
    expect(sent).toEqual([]);
  });
});
