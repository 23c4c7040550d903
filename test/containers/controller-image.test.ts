// The controller image against the host's PostgreSQL and the run's Temporal dev server
// (--network host): `migrate` applies the history to an empty database and exits 0, the served
// container answers /healthz, the console and the API, its worker runs workflows from the bundle
// made at build time, and it runs as a non-root user. Also: a second build is a cache hit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTROLLER_IMAGE, Container, IMAGES_DIR, buildImages, containerSupport, ensureImages, podman } from '../helpers/containers';
import { pgAvailable } from '../helpers/db';
import { temporalCliAvailable, testNamespace } from '../helpers/temporal';
import { TEST_PAYLOAD_KEY_HEX } from '../helpers/controller';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName } from '../../db/tooling/pg-admin';
import { freePort } from '../../controller/temporal-dev';
import { newSecretKey } from '../../lib/crypto';

const pod = containerSupport();
const cli = temporalCliAvailable();
const pgOk = pod.ok && cli.ok ? await pgAvailable() : false;
const reason = !pod.ok ? pod.reason : !cli.ok ? cli.reason : !pgOk ? 'PostgreSQL is not available (see above)' : undefined;
if (reason) console.warn(`controller container tests skipped: ${reason}`);

describe.runIf(!reason)('controller image', () => {
  const admin = pgAdminUrl();
  const dbName = scratchName('ipsec_test');
  let databaseUrl: string;
  let temporal: Awaited<ReturnType<typeof testNamespace>>;
  let container: Container | undefined;
  const token = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    const [{ images, seconds }, t] = await Promise.all([ensureImages(), testNamespace()]);
    console.log(`images (${seconds.toFixed(1)} s): ${images.map((i) => `${i.image} ${i.sizeMb} MB ${i.status} in ${i.seconds} s`).join('; ')}`);
    temporal = t;
    databaseUrl = await createDatabase(admin, dbName);
  }, 900_000);

  afterAll(async () => {
    await container?.remove();
    await temporal?.stop();
    await dropDatabase(admin, dbName).catch(() => undefined);
  });

  const common = () => ['--network', 'host', '--health-interval', 'disable', '--env', `DATABASE_URL=${databaseUrl}`];

  it('`migrate` migrates an empty PostgreSQL database and exits 0, twice', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await podman(['run', '--rm', ...common(), CONTROLLER_IMAGE, 'migrate'], { timeoutMs: 180_000 });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    }
  });

  it('serves /healthz, the console and the API; its worker runs the prebuilt workflow bundle; not as root', async () => {
    const [port, agentPort] = [await freePort(), await freePort()];
    const t0 = Date.now();
    container = await Container.run(`imt-controller-${randomBytes(3).toString('hex')}`, CONTROLLER_IMAGE, [
      ...common(),
      '--env', 'MIGRATE_ON_START=false',
      '--env', 'HOST=127.0.0.1',
      '--env', `PORT=${port}`,
      '--env', 'AGENT_HOST=127.0.0.1',
      '--env', `AGENT_PORT=${agentPort}`,
      '--env', `API_TOKEN=${token}`,
      '--env', `SECRET_KEY=${newSecretKey()}`,
      '--env', `TEMPORAL_PAYLOAD_KEY=${TEST_PAYLOAD_KEY_HEX}`,
      '--env', `TEMPORAL_ADDRESS=${temporal.address}`,
      '--env', `TEMPORAL_NAMESPACE=${temporal.namespace}`,
      '--env', `TEMPORAL_TASK_QUEUE=ctr-${randomBytes(4).toString('hex')}`,
    ]);
    const base = `http://127.0.0.1:${port}`;
    const healthz = async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status;
    try {
      await expect.poll(healthz, { timeout: 90_000, interval: 100 }).toBe(200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await container.logs()}`);
    }
    console.log(`controller container: podman run → /healthz 200 in ${Date.now() - t0} ms`);
    expect((await container.healthcheck()).code).toBe(0);
    expect((await container.exec(['sh', '-c', 'id -u'])).stdout.trim()).toBe('10001');

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<div id="root">|<script/);

    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    expect((await fetch(`${base}/api/gateways`)).status).toBe(401);
    const created = await api('POST', '/api/gateways', { name: 'dc', provider: 'onprem', cidrs: ['10.71.0.0/24'] });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // A new gateway's discovery is a workflow: 'ready' means the worker runs the bundle from the image.
    await expect.poll(async () => ((await (await api('GET', `/api/gateways/${id}`)).json()) as { state: string }).state, { timeout: 30_000, interval: 200 }).toBe('ready');
    // Longer than the polls above together, so a slow start fails with the container's log, not the test's timeout.
  }, 150_000);

  it('a second build with nothing changed is a cache hit and takes seconds', async () => {
    // The build inputs as hashed by images.sh: in a working tree being edited meanwhile, an image
    // whose inputs changed must be rebuilt, and only that one.
    const inputs = () => ['agent', 'controller'].map((n) => readFileSync(path.join(IMAGES_DIR, `${n}-context.inputs`), 'utf8'));
    const before = inputs();
    const again = await buildImages();
    const changed = inputs().map((text, i) => text !== before[i]);
    console.log(`cached build: ${again.seconds.toFixed(1)} s (${again.images.map((i) => `${i.image} ${i.status}`).join(', ')})`);
    expect(again.images.map((i) => i.status)).toEqual(changed.map((c) => (c ? 'built' : 'cached')));
    if (!changed.some(Boolean)) expect(again.seconds).toBeLessThan(60);
  });
});
