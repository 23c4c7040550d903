// The agent image as a site runs it: two agent containers, each in a site's gateway namespace of the
// fixture (charon and the agent inside the container, userspace ESP over /dev/net/tun), one
// controller on the host. POST /api/links → TCP between the sites' LANs; then one container dies
// (its charon killed: the container must exit non-zero) and a new one on the same STATE_DIR volume
// brings the tunnel back with no controller reachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { netnsSupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import type { GatewayBody, LinkBody, LinkWithEventsBody } from '../helpers/api-harness';
import { AGENT_IMAGE, Container, containerSupport, ensureImages } from '../helpers/containers';

const pod = containerSupport();
const net = pod.ok ? await netnsSupport() : pod;
const cli = temporalCliAvailable();
const reason = !pod.ok ? pod.reason : !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`agent container tests skipped: ${reason}`);

describe.runIf(!reason)('agent image: a tunnel between two agent containers', () => {
  let stack: Stack;
  const containers = new Map<string, Container>();
  const stateDir = (site: string) => path.join(stack.fixture.site(site).dir, 'container-state');

  /** `podman run` of the agent image in the site's gateway namespace; resolves when the container runs. */
  async function runAgent(site: string, tag: string): Promise<Container> {
    const g = stack.gateways.get(site)!;
    const info = stack.fixture.site(site);
    const charonDir = path.join(info.dir, 'container-charon.d');
    mkdirSync(charonDir, { recursive: true });
    mkdirSync(stateDir(site), { recursive: true });
    // A dead peer noticed in seconds, as the fixture's own charons do (test/helpers/netns/charon.ts).
    writeFileSync(path.join(charonDir, 'retransmit.conf'), 'retransmit_timeout = 1.0\nretransmit_base = 1.4\nretransmit_tries = 2\nretransmit_jitter = 0\n');
    const c = await Container.run(`imt-${site}-${tag}`, AGENT_IMAGE, [
      '--network', `ns:/run/netns/${info.gwNs}`,
      '--cap-add', 'NET_ADMIN',
      '--device', '/dev/net/tun',
      // Podman schedules health checks with systemd timers, absent here: the test runs them itself.
      '--health-interval', 'disable',
      '--volume', `${stateDir(site)}:/var/lib/ipsec-agent`,
      '--volume', `${charonDir}:/etc/ipsec-mesh/charon.d:ro`,
      '--env', `CONTROLLER_URL=${stack.controller.agentUrl}`,
      // Plain ws:// to the fixture's controller address, inside namespaces the test made.
      '--env', 'ALLOW_INSECURE_CONTROLLER=1',
      '--env', `GATEWAY_ID=${g.id}`,
      '--env', `GATEWAY_SECRET=${g.agentSecret}`,
      '--env', 'CLOUD_METADATA=none',
      '--env', 'BACKOFF_MIN_MS=200',
      '--env', 'BACKOFF_MAX_MS=2000',
    ]);
    containers.set(c.name, c);
    return c;
  }

  async function waitOnline(site: string, timeoutMs = 30_000): Promise<void> {
    const id = stack.gateways.get(site)!.id;
    await expect.poll(async () => (await stack.controller.api<GatewayBody>('GET', `/api/gateways/${id}`)).body.online, { timeout: timeoutMs, interval: 50 }).toBe(true);
  }

  beforeAll(async () => {
    const { images, seconds } = await ensureImages();
    console.log(`images (${seconds.toFixed(1)} s): ${images.map((i) => `${i.image} ${i.sizeMb} MB ${i.status} in ${i.seconds} s`).join('; ')}`);
    stack = await startStack({
      id: 'ctr1',
      sites: [
        { name: 'dc', publicIp: '198.51.100.61', lanCidr: '10.61.0.0/24' },
        { name: 'vpc', publicIp: '203.0.113.61', lanCidr: '10.62.0.0/24', behindNat: true },
      ],
    });
    // The stack starts a charon per site on the host; here charon runs inside the containers.
    await Promise.all([stack.fixture.stopCharon('dc'), stack.fixture.stopCharon('vpc')]);
    await Promise.all([stack.fixture.tcpServer('dc', 7000), stack.fixture.tcpServer('vpc', 7000)]);
  }, 600_000);

  afterAll(async () => {
    await Promise.all([...containers.values()].map((c) => c.remove()));
    await stack?.close();
  });

  it('agent containers come online, a link carries TCP, and the health check says connected', async () => {
    const t0 = Date.now();
    const [dc, vpc] = await Promise.all([runAgent('dc', 'a'), runAgent('vpc', 'a')]);
    try {
      await Promise.all([waitOnline('dc'), waitOnline('vpc')]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- dc ---\n${await dc.logs()}\n--- vpc ---\n${await vpc.logs()}`);
    }
    console.log(`podman run → both agents online at the controller: ${Date.now() - t0} ms`);

    expect(await stack.fixture.tcpProbe('dc', stack.fixture.site('vpc').hostIp, 7000, 1500)).toBe(false);
    const r = await stack.controller.api<LinkBody>('POST', '/api/links', { a: stack.gateways.get('dc')!.id, b: stack.gateways.get('vpc')!.id });
    expect(r.status).toBe(202);
    const t1 = Date.now();
    await stack.fixture.waitForTcp('dc', stack.fixture.site('vpc').hostIp, 7000, { timeoutMs: 30_000, intervalMs: 50 });
    console.log(`TCP through the containers' tunnel ${Date.now() - t1} ms after POST /api/links`);
    await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 20_000 }).toBe('up');

    // The agents wrote their saved links to the volume, and the health check reads their status file.
    await expect.poll(async () => (await dc.healthcheck()).code, { timeout: 15_000, interval: 500 }).toBe(0);
    expect(await dc.healthReason()).toMatch(/^connected, 1 link\(s\), 1 up/);
    expect(readFileSync(path.join(stateDir('dc'), 'links.json'), 'utf8')).toContain(`link-${r.body.id}`);
  });

  it('a container whose charon dies exits non-zero; a new one on the same volume restores the tunnel without a controller', async () => {
    // Restart the end that initiates: it re-dials at once from its saved state. The other end's
    // charon (short retransmits) lets the replaced IKE SA go.
    const held = (site: string) => Object.values((JSON.parse(readFileSync(path.join(stateDir(site), 'links.json'), 'utf8')) as { links: Record<string, { initiator: boolean }> }).links)[0]!;
    const site = held('dc').initiator ? 'dc' : 'vpc';
    const peer = site === 'dc' ? 'vpc' : 'dc';
    const target = (s: string) => stack.fixture.site(s === 'dc' ? 'vpc' : 'dc').hostIp;

    await stack.stopController();
    const first = containers.get(`imt-${site}-a`)!;
    // charon's death ends the container with a failure, so an orchestrator restarts it.
    const killed = await first.exec(['sh', '-c', 'kill -KILL "$(cat /var/run/charon.pid)"']);
    expect(killed.code).toBe(0);
    await expect.poll(async () => (await first.state()).running, { timeout: 15_000, interval: 100 }).toBe(false);
    expect((await first.state()).exitCode).not.toBe(0);
    await first.remove();
    expect(await stack.fixture.tcpProbe(site, target(site), 7000, 1500)).toBe(false);

    const t0 = Date.now();
    const second = await runAgent(site, 'b');
    try {
      await stack.fixture.waitForTcp(site, target(site), 7000, { timeoutMs: 45_000, intervalMs: 100 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${site} ---\n${await second.logs()}`);
    }
    console.log(`tunnel back from the volume's saved state ${Date.now() - t0} ms after podman run (controller down)`);
    expect(await stack.fixture.tcpProbe(peer, target(peer), 7000, 3000)).toBe(true);
    // Healthy while holding saved links with the controller unreachable.
    await expect.poll(() => second.healthReason(), { timeout: 15_000, interval: 500 }).toMatch(/^controller unreachable; holding 1 saved link\(s\), 1 up/);
    expect((await second.healthcheck()).code).toBe(0);

    // SIGTERM (podman stop) reaches the agent and charon through the entrypoint: a clean exit 0.
    const other = containers.get(`imt-${peer}-a`)!;
    await other.stop();
    expect((await other.state()).exitCode).toBe(0);
  });
});
