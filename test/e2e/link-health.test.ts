// Data-plane health with real charon (userspace ESP) in network namespaces: traffic through a link
// moves its byte counters and RTT in the API and in /metrics; dropping ESP (and with it the probes)
// in one site's gateway namespace while IKE keeps talking turns the link degraded within three
// report intervals, and it comes back to up once the rule is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsSupport } from '../helpers/netns';
import { nsShell } from '../helpers/netns/exec';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import { parsePrometheusText, sampleValue } from '../helpers/prom-text';
import type { LinkBody, LinkWithEventsBody } from '../helpers/api-harness';

const net = await netnsSupport();
const cli = temporalCliAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`link-health e2e test skipped: ${reason}`);

const INTERVAL_MS = 1000;
/**
 * IKE and userspace ESP share UDP 4500 (NAT-T). IKE messages there start with the four-byte
 * non-ESP marker (zero), ESP with its SPI (never zero, RFC 3948 §2.2): this drops ESP only. The
 * probes travel inside ESP, so they go too; IKE (and DPD) keeps working.
 */
const BLOCK_ESP = `nft -f - <<'EOF'
table inet esp_block {
  chain in {
    type filter hook input priority -10; policy accept;
    udp dport 4500 udp length > 16 @th,64,32 != 0 counter drop
  }
}
EOF`;

describe.runIf(!reason)('data-plane health with real charon', () => {
  let stack: Stack;
  let linkId: string;

  beforeAll(async () => {
    stack = await startStack({
      id: 'e2eh',
      sites: [
        { name: 'dc', publicIp: '198.51.100.51', lanCidr: '10.51.0.0/24' },
        { name: 'vpc', publicIp: '203.0.113.51', lanCidr: '10.52.0.0/24', behindNat: true },
      ],
    });
    await Promise.all(['dc', 'vpc'].map((site) => stack.startAgent(site, { HEALTH_INTERVAL_MS: String(INTERVAL_MS) })));
    await stack.fixture.tcpServer('vpc', 7000);
    const r = await stack.controller.api<LinkBody>('POST', '/api/links', { a: stack.gateways.get('dc')!.id, b: stack.gateways.get('vpc')!.id });
    if (r.status !== 202) throw new Error(`POST /api/links: ${r.status}`);
    linkId = r.body.id;
  }, 120_000);

  afterAll(async () => {
    await nsShell(stack?.fixture.site('dc').gwNs ?? 'none', 'nft delete table inet esp_block').catch(() => undefined);
    await stack?.close();
  });

  const getLink = async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body;
  const scrape = async () => {
    const res = await fetch(`${stack.controller.url}/metrics`);
    return parsePrometheusText(await res.text());
  };

  it('traffic through the link moves its byte counters and RTT in the API and in /metrics', async () => {
    await stack.fixture.waitForTcp('dc', stack.fixture.site('vpc').hostIp, 7000, { timeoutMs: 20_000, intervalMs: 20 });
    await expect.poll(async () => (await getLink()).state, { timeout: 15_000 }).toBe('up');
    await expect.poll(async () => (await getLink()).a.dataPlane?.probes?.answered ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const before = (await getLink()).a.dataPlane!;
    // Several kB of TCP through the tunnel, LAN to LAN.
    for (let i = 0; i < 20; i++) expect(await stack.fixture.tcpProbe('dc', stack.fixture.site('vpc').hostIp, 7000, 3000)).toBe(true);
    await expect.poll(async () => (await getLink()).a.dataPlane!.bytesOut, { timeout: 10_000 }).toBeGreaterThan(before.bytesOut + 1000);
    const link = await getLink();
    const [a, b] = [link.a.dataPlane!, link.b.dataPlane!];
    console.log(`dc: ${a.bytesOut} B out, ${a.packetsOut} packets, RTT p50 ${a.rttP50Ms} ms; vpc: ${b.bytesIn} B in, RTT p50 ${b.rttP50Ms} ms`);
    expect(a).toMatchObject({ installed: true, probes: { failStreak: 0 } });
    expect(b.bytesIn).toBeGreaterThan(1000);
    expect(a.rttP50Ms).toBeGreaterThan(0);
    expect(b.rttP50Ms).toBeGreaterThan(0);
    expect(a.lastTrafficAt).not.toBeNull();
    expect(Date.parse(a.establishedAt!)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(a.rekeyAt!)).toBeGreaterThan(Date.now());

    const families = await scrape();
    expect(sampleValue(families, 'ipsecmesh_link_tx_bytes_total', { link: linkId })).toBeGreaterThan(1000);
    expect(sampleValue(families, 'ipsecmesh_link_rx_bytes_total', { link: linkId })).toBeGreaterThan(0);
    expect(sampleValue(families, 'ipsecmesh_link_rtt_seconds', { link: linkId })).toBeGreaterThan(0);
    expect(sampleValue(families, 'ipsecmesh_link_up', { link: linkId })).toBe(1);
  });

  it('ESP dropped in one site while IKE stays up: degraded within 3 intervals, up again once unblocked', async () => {
    const gwNs = stack.fixture.site('dc').gwNs;
    await expect.poll(async () => (await getLink()).state, { timeout: 15_000 }).toBe('up');
    const t0 = Date.now();
    await nsShell(gwNs, BLOCK_ESP);
    await expect.poll(async () => (await getLink()).state, { timeout: 3 * INTERVAL_MS + 3000, interval: 100 }).toBe('degraded');
    const took = Date.now() - t0;
    console.log(`degraded ${took} ms after ESP was blocked (interval ${INTERVAL_MS} ms)`);
    const degraded = await getLink();
    expect(degraded.stateReason).toMatch(/^no probe answer from (dc|vpc) through the tunnel for \d+ s; IKE is up$/);
    // IKE still has both ends' CHILD_SAs installed.
    expect(degraded.a.tunnelUp && degraded.b.tunnelUp).toBe(true);
    const counted = (await nsShell(gwNs, 'nft list table inet esp_block')).stdout;
    expect(counted).toMatch(/counter packets [1-9]/);
    // It stays one episode while blocked.
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
    expect((await getLink()).events.filter((e) => e.type === 'dataplane.degraded')).toHaveLength(1);

    await nsShell(gwNs, 'nft delete table inet esp_block');
    const t1 = Date.now();
    await expect.poll(async () => (await getLink()).state, { timeout: 3 * INTERVAL_MS + 3000, interval: 100 }).toBe('up');
    console.log(`up again ${Date.now() - t1} ms after the rule was removed`);
    const after = await getLink();
    expect(after.events.map((e) => e.type).slice(-2)).toEqual(['dataplane.degraded', 'dataplane.recovered']);
    expect(sampleValue(await scrape(), 'ipsecmesh_link_up', { link: linkId })).toBe(1);
  });
});
