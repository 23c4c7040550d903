// @vitest-environment happy-dom
// The preview rendered from the JSON POST /api/links/:id/plan answers, built here with the same
// contract functions api/links.ts uses (configFor, diffPlans, describeChange).
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { configFor, describeChange, diffPlans, type LinkPlan, type SideName } from '../../contracts/link-plan';
import { PlanDiff } from '../../web/src/pages/PlanDiff';
import type { LinkPlanPreview } from '../../web/src/api/types';
import { axeViolations } from './helpers';

afterEach(cleanup);

function plan(aCidrs: string[], bCidrs: string[]): LinkPlan {
  return {
    linkId: 'lnk1',
    name: 'lnk1',
    state: 'up',
    initiator: 'a',
    a: { gatewayId: 'gw-dc', gatewayName: 'dc-beijing', endpoint: '198.51.100.10', cidrs: aCidrs, identity: 'gw-gw-dc' },
    b: {
      gatewayId: 'gw-vpc',
      gatewayName: 'vpc-hangzhou',
      endpoint: '203.0.113.20',
      cidrs: bCidrs,
      identity: 'gw-gw-vpc',
      cloud: { ref: { provider: 'aliyun', accountId: 'acc1', region: 'cn-hangzhou' }, instanceId: 'i-gw', routeTableIds: ['vtb-main', 'vtb-db'], securityGroupIds: ['sg-1'] },
    },
  };
}

/** The /plan answer's shape, as api/links.ts previewChange builds it. */
function preview(from: LinkPlan, to: LinkPlan): LinkPlanPreview {
  const change = diffPlans(from, to);
  const side = (s: SideName) => {
    const { version: _b, ...before } = configFor(from, s, 0);
    const { version: _a, ...after } = configFor(to, s, 0);
    return {
      gateway: { id: to[s].gatewayId, name: to[s].gatewayName },
      cidrs: { before: from[s].cidrs, after: to[s].cidrs },
      config: { changed: change[s].config, before, after },
      routes: { add: change[s].routesAdded, remove: change[s].routesRemoved },
      securityGroupRules: { add: change[s].ruleAdded ? [change[s].ruleAdded] : [], remove: change[s].ruleRemoved ? [change[s].ruleRemoved] : [] },
    };
  };
  // Through JSON, as the browser receives it.
  return JSON.parse(JSON.stringify({ changed: !change.none, summary: describeChange(from, to, change), tunnelRestart: change.a.config || change.b.config, a: side('a'), b: side('b') })) as LinkPlanPreview;
}

describe('PlanDiff', () => {
  it('shows traffic selectors before/after, routes per route table, and that the tunnel restarts', async () => {
    const json = preview(plan(['10.1.0.0/24'], ['172.16.0.0/16']), plan(['10.1.8.0/24'], ['172.16.0.0/16']));
    const { container } = render(<PlanDiff plan={json} />);
    expect(screen.getByText(/The tunnel restarts/)).toBeTruthy();
    expect(screen.getByText(/dc-beijing carries 10\.1\.8\.0\/24 \(was 10\.1\.0\.0\/24\)/)).toBeTruthy();

    const dc = screen.getByRole('region', { name: 'end A: dc-beijing' });
    const local = within(dc).getByText('Local traffic selectors').nextElementSibling!;
    expect(local.querySelector('.del')!.textContent).toContain('10.1.0.0/24');
    expect(local.querySelector('.add')!.textContent).toContain('10.1.8.0/24');
    expect(within(dc).getByText(/no route changes/)).toBeTruthy();

    // The cloud end routes the dc's new network instead of the old one, in each route table.
    const vpc = screen.getByRole('region', { name: 'end B: vpc-hangzhou' });
    const routes = within(vpc).getByText('Routes').nextElementSibling!;
    const tables = [...routes.querySelectorAll('.route-table')].map((t) => t.textContent);
    expect(tables).toHaveLength(2);
    expect(tables[0]).toMatch(/route table vtb-main.*removed: 10\.1\.0\.0\/24 → i-gw.*added: 10\.1\.8\.0\/24 → i-gw/);
    expect(tables[1]).toMatch(/route table vtb-db/);
    const remote = within(vpc).getByText('Remote traffic selectors').nextElementSibling!;
    expect(remote.querySelector('.add')!.textContent).toContain('10.1.8.0/24');
    expect(await axeViolations(container)).toEqual([]);
  });

  it('shows a security-group rule change when the peer moves, and no restart when nothing changes', () => {
    const from = plan(['10.1.0.0/24'], ['172.16.0.0/16']);
    const moved = plan(['10.1.0.0/24'], ['172.16.0.0/16']);
    moved.a.endpoint = '198.51.100.99';
    render(<PlanDiff plan={preview(from, moved)} />);
    const vpc = screen.getByRole('region', { name: 'end B: vpc-hangzhou' });
    expect(within(vpc).getByText(/rule removed/).parentElement!.textContent).toContain('sg-1: IKE/NAT-T from 198.51.100.10');
    expect(within(vpc).getByText(/rule added/).parentElement!.textContent).toContain('sg-1: IKE/NAT-T from 198.51.100.99');
    cleanup();
    render(<PlanDiff plan={preview(from, from)} />);
    expect(screen.getByText('Nothing would change.')).toBeTruthy();
    expect(screen.getByText('The tunnel does not restart.')).toBeTruthy();
  });
});
