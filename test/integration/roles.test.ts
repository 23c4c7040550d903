// Roles run apart: an API-only process and a hub+worker process sharing one database and one
// Temporal server still create a link end to end.
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { TestController } from '../helpers/controller';
import { missing, withStack, type StackNeeds } from '../helpers/with-stack';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';

// The stack's controller serves the API only; a second one (same database, queue and key) is hub and worker.
const secretKey = parseSecretKey(newSecretKey());
const needs: StackNeeds = { controller: { roles: ['api'], secretKey }, name: 'roles' };

describe.skipIf(missing(needs, 'roles test'))('controller roles in separate processes', () => {
  const s = withStack(needs);
  let apiOnly: TestController;
  let hubWorker: TestController;

  beforeAll(async () => {
    apiOnly = s.ctl;
    hubWorker = await s.controller({ roles: ['hub', 'worker'], secretKey });
  });

  it('serves only what each role owns and links through both', async () => {
    expect(apiOnly.hub).toBeUndefined();
    // Each listener comes with its role: no agent endpoint without the hub, no API without the api role.
    expect(apiOnly.agentUrl).toBe('');
    expect(hubWorker.url).toBe('');
    expect((await fetch(`${hubWorker.agentUrl}/api/gateways`)).status).toBe(404);
    const net = new FakeIpsecNetwork();
    const ids: string[] = [];
    for (const [i, cidr] of ['10.91.0.0/24', '10.92.0.0/24'].entries()) {
      const g = await apiOnly.api<{ id: string; agentSecret: string }>('POST', '/api/gateways', { name: `r${i}`, provider: 'onprem', cidrs: [cidr] });
      ids.push(g.body.id);
      const ip = `198.51.100.${91 + i}`;
      s.track(await startTestAgent({ controllerUrl: hubWorker.agentUrl, gatewayId: g.body.id, secret: g.body.agentSecret, driver: net.driver(ip), publicIp: ip }));
    }
    await expect.poll(async () => (await apiOnly.api<{ gateways: Array<{ online: boolean }> }>('GET', '/api/gateways')).body.gateways.every((g) => g.online), { timeout: 10_000 }).toBe(true);
    const r = await apiOnly.api<{ id: string }>('POST', '/api/links', { a: ids[0], b: ids[1] });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await apiOnly.api<{ state: string }>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 20_000 }).toBe('up');
  });
});
