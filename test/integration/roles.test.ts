// Roles run apart: an API-only process and a hub+worker process sharing one database and one
// Temporal server still create a link end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestTemporal, temporalCliAvailable, type TestTemporal } from '../helpers/temporal';
import { startTestController, type TestController } from '../helpers/controller';
import { startTestAgent, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { createSqliteTestDb } from '../helpers/db';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`roles test skipped: ${cli.reason}`);

describe.runIf(cli.ok)('controller roles in separate processes', () => {
  let temporal: TestTemporal;
  let apiOnly: TestController;
  let hubWorker: TestController;
  let cleanupDb: () => Promise<void>;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    temporal = await startTestTemporal();
    const db = await createSqliteTestDb();
    cleanupDb = db.cleanup;
    await db.db.$disconnect();
    const shared = { temporal, databaseUrl: db.url, taskQueue: `roles-${randomBytes(4).toString('hex')}`, secretKey: parseSecretKey(newSecretKey()) };
    apiOnly = await startTestController({ ...shared, roles: ['api'] });
    hubWorker = await startTestController({ ...shared, roles: ['hub', 'worker'] });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await hubWorker?.close();
    await apiOnly?.close();
    await temporal?.stop();
    await cleanupDb?.();
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
      agents.push(await startTestAgent({ controllerUrl: hubWorker.agentUrl, gatewayId: g.body.id, secret: g.body.agentSecret, driver: net.driver(ip), publicIp: ip }));
    }
    await expect.poll(async () => (await apiOnly.api<{ gateways: Array<{ online: boolean }> }>('GET', '/api/gateways')).body.gateways.every((g) => g.online), { timeout: 10_000 }).toBe(true);
    const r = await apiOnly.api<{ id: string }>('POST', '/api/links', { a: ids[0], b: ids[1] });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await apiOnly.api<{ state: string }>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 20_000 }).toBe('up');
  });
});
