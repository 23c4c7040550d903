// A token revoked through controller 1 stops working on controller 2 (its own pool on the same
// PostgreSQL database) within TOKEN_CACHE_MS, and at once on controller 1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../api/app';
import { TOKEN_CACHE_MS } from '../../api/auth';
import { openDb, type Db } from '../../db';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { fakeLinks, rawRequest } from '../helpers/api-harness';
import { createPgTestDb, pgAvailable, type TestDb } from '../helpers/db';

const pg = await pgAvailable();
const SHARED = 'the-shared-api-token-0123456789';

interface Controller {
  port: number;
  close(): Promise<void>;
}

async function controller(db: Db): Promise<Controller> {
  const app = createApi({ db, apiToken: SHARED, log: silentLogger, links: fakeLinks(), secretKey: parseSecretKey(newSecretKey()), view: () => ({ now: new Date(), presenceTtlMs: 45_000, temporalNamespace: 'default' }), cloudEndpointAllow: [] });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.skipIf(!pg)('token revocation across two controllers on PostgreSQL', () => {
  let testDb: TestDb;
  let secondDb: Db;
  let one: Controller;
  let two: Controller;
  beforeAll(async () => {
    testDb = await createPgTestDb();
    secondDb = await openDb(testDb.url);
    one = await controller(testDb.db);
    two = await controller(secondDb);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await secondDb?.$disconnect();
    await testDb?.cleanup();
  });

  const whoami = (c: Controller, token: string) => rawRequest(c.port, { path: '/api/whoami', headers: { authorization: `Bearer ${token}` } });

  it('a token issued on one works on the other; revoked on one, it stops on both', async () => {
    const created = await rawRequest(one.port, { method: 'POST', path: '/api/tokens', headers: { authorization: `Bearer ${SHARED}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'shared', role: 'viewer' }) });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    expect((await whoami(two, token)).status).toBe(200);
    expect((await whoami(one, token)).status).toBe(200);

    const revoked = await rawRequest(one.port, { method: 'DELETE', path: `/api/tokens/${created.json.id}`, headers: { authorization: `Bearer ${SHARED}` } });
    expect(revoked.status).toBe(204);
    const at = Date.now();
    expect((await whoami(one, token)).status).toBe(401);
    await expect.poll(async () => (await whoami(two, token)).status, { timeout: TOKEN_CACHE_MS + 3000, interval: 100 }).toBe(401);
    expect(Date.now() - at).toBeLessThan(TOKEN_CACHE_MS + 1000);
    expect((await whoami(two, token)).json.error.message).toMatch(/revoked/);
  });
});
