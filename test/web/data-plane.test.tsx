// @vitest-environment happy-dom
// The link page's "Data plane" section: each end's figures from the API, and a note before any.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { DataPlane } from '../../web/src/pages/DataPlane';
import { axeViolations, gateway, link } from './helpers';

afterEach(() => cleanup());

const dc = gateway('gw-dc', 'dc-beijing', ['10.1.0.0/24']);
const vpc = gateway('gw-vpc', 'vpc-hangzhou', ['172.16.0.0/16']);
const figures = {
  measuredAt: '2026-11-30T00:00:10.000Z',
  installed: true,
  bytesIn: 5 * 1024 * 1024,
  bytesOut: 2048,
  packetsIn: 4000,
  packetsOut: 12,
  lastInAt: '2026-11-30T00:00:09.000Z',
  lastOutAt: '2026-11-30T00:00:08.000Z',
  lastTrafficAt: '2026-11-30T00:00:09.000Z',
  rttP50Ms: 1.234,
  establishedAt: '2026-11-30T00:00:00.000Z',
  rekeyAt: '2026-11-30T00:54:00.000Z',
  probes: { sent: 3, answered: 0, failStreak: 3 },
};

describe('DataPlane', () => {
  it('shows bytes, packets, RTT and probes per end, and a dash for an end without a report', async () => {
    const l = link('lnk1', dc, vpc, 'degraded', { a: { id: dc.id, name: dc.name, cidrs: dc.cidrs, tunnelUp: true, dataPlane: figures }, b: { id: vpc.id, name: vpc.name, cidrs: vpc.cidrs, tunnelUp: true, dataPlane: null } });
    const { container } = render(<DataPlane link={l} />);
    const table = screen.getByRole('table', { name: /data-plane figures/i });
    const row = (label: RegExp) => within(table).getByRole('row', { name: label });
    expect(within(row(/bytes in/i)).getAllByRole('cell').map((c) => c.textContent)).toEqual(['5.0 MiB / 2.0 KiB', '—']);
    expect(within(row(/packets/i)).getAllByRole('cell')[0]!.textContent).toBe('4000 / 12');
    expect(within(row(/rtt/i)).getAllByRole('cell')[0]!.textContent).toBe('1.2 ms');
    expect(within(row(/probes/i)).getAllByRole('cell')[0]!.textContent).toBe('0 of 3 answered; 3 interval(s) without an answer');
    expect(await axeViolations(container)).toEqual([]);
  });

  it('says so when neither end has reported', () => {
    render(<DataPlane link={link('lnk1', dc, vpc, 'up')} />);
    expect(screen.getByText(/no health report from either end yet/i)).toBeTruthy();
  });
});
