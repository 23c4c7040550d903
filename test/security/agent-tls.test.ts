// Issue 9, item 1: PSKs and the agent's secret travel over the agent's connection, so the agent
// verifies the controller: against the system CAs or CONTROLLER_CA, optionally pinned to a key
// (CONTROLLER_PIN), directly and through a CONNECT proxy. A refused certificate is logged as such,
// naming the URL, and retried with backoff like any failed connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { createSqliteTestDb } from '../helpers/db';
import { makeTestPki, pinOf, type TestPki } from '../helpers/tls';
import { recordingLogger, startAgentHub, startConnectProxy, startTestAgent, removeDir, type AgentHub, type ConnectProxy, type LogRecord, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const SECRET = 's'.repeat(43);
const ipsec = new FakeIpsecNetwork();
let pki: TestPki;
let db: Db;
let cleanupDb: () => Promise<void>;
let good: AgentHub;
let wrong: AgentHub;
let proxy: ConnectProxy;
let leafPin: string;
let caPin: string;
let wrongPin: string;
const agents: TestAgent[] = [];
let next = 0;

beforeAll(async () => {
  pki = await makeTestPki();
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  for (let i = 0; i < 20; i++) {
    await db.gateway.create({ data: { id: `gt-${i}`, name: `gt-${i}`, provider: 'onprem', cidrs: '["10.1.0.0/24"]', secretHash: hashSecret(SECRET) } });
  }
  good = await startAgentHub(db, { tls: pki.ca.server });
  wrong = await startAgentHub(db, { tls: pki.wrongCa.server });
  proxy = await startConnectProxy({ hosts: { '127.0.0.2': '127.0.0.1', 'controller.test': '127.0.0.1' }, urlHost: 'localhost' });
  [leafPin, caPin, wrongPin] = await Promise.all([pinOf(pki.ca.server.certFile), pinOf(pki.ca.certFile), pinOf(pki.wrongCa.server.certFile)]);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().then(() => removeDir(a.stateDir))));
  await Promise.all([good?.stop(), wrong?.stop(), proxy?.stop()]);
  await cleanupDb?.();
  await pki?.cleanup();
});

/** A fresh gateway id per agent, so one test's connection never answers for another's. */
async function agent(url: string, opts: { ca?: string; pins?: string[]; viaProxy?: boolean } = {}) {
  const gatewayId = `gt-${next++}`;
  const rec = recordingLogger();
  const a = await startTestAgent({
    controllerUrl: url,
    gatewayId,
    secret: SECRET,
    driver: ipsec.driver(`198.51.100.${next}`),
    tls: { ...(opts.ca ? { ca: opts.ca } : {}), pins: opts.pins ?? [] },
    ...(opts.viaProxy ? { proxy: { https: proxy.url } } : {}),
    backoff: { minMs: 50, maxMs: 200 },
    log: rec.log,
  });
  agents.push(a);
  return { a, gatewayId: asGatewayId(gatewayId), rec };
}

const certificateProblems = (records: LogRecord[]) => records.filter((r) => /certificate problem/i.test(r.msg));

async function settled(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
}

/** Refused, logged as a certificate problem naming the controller, retried, and never final. */
async function expectRefused(hub: AgentHub, started: Awaited<ReturnType<typeof agent>>, host: string, why: RegExp) {
  await expect.poll(() => certificateProblems(started.rec.records).length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
  const problem = certificateProblems(started.rec.records)[0]!;
  expect(problem.level).toBe('error');
  expect(String(problem.fields.url)).toContain(host);
  expect(JSON.stringify(problem.fields)).toMatch(why);
  expect(hub.hub.isConnected(started.gatewayId)).toBe(false);
  expect(await settled(started.a.done)).toBe(false);
}

describe('agent → controller TLS', () => {
  it('connects to an https hub whose certificate CONTROLLER_CA signed', async () => {
    const s = await agent(good.url, { ca: pki.ca.cert });
    await expect.poll(() => good.hub.isConnected(s.gatewayId), { timeout: 5000 }).toBe(true);
    await expect(good.hub.call(s.gatewayId, 'status', {})).resolves.toEqual({ sas: [], links: [] });
    expect(certificateProblems(s.rec.records)).toEqual([]);
    await s.a.stop();
  });

  it('refuses a certificate from another CA, and the test CA when only the system CAs are trusted', async () => {
    const before = wrong.connections;
    const other = await agent(wrong.url, { ca: pki.ca.cert });
    await expectRefused(wrong, other, `127.0.0.1:${wrong.port}`, /certificate|CONTROLLER_CA/i);
    expect(wrong.connections - before).toBeGreaterThanOrEqual(3); // retried: a TLS failure is not final
    await other.a.stop();

    const system = await agent(good.url);
    await expectRefused(good, system, `127.0.0.1:${good.port}`, /certificate/i);
    await system.a.stop();
  });

  it('with CONTROLLER_PIN, refuses a chain without a pinned key and accepts the leaf or CA key', async () => {
    const pinnedWrong = await agent(good.url, { ca: pki.ca.cert, pins: [wrongPin] });
    // The log names the keys the controller did present, so an operator can fix the pin.
    await expectRefused(good, pinnedWrong, `127.0.0.1:${good.port}`, new RegExp(`CONTROLLER_PIN.*${leafPin.replace(/[+/]/g, '\\$&')}`));
    await pinnedWrong.a.stop();

    for (const pins of [[leafPin], [caPin], [wrongPin, leafPin]]) {
      const s = await agent(good.url, { ca: pki.ca.cert, pins });
      await expect.poll(() => good.hub.isConnected(s.gatewayId), { timeout: 5000 }).toBe(true);
      await s.a.stop();
    }
  });

  it('verifies the same way through an HTTP CONNECT proxy', async () => {
    const s = await agent(good.url, { ca: pki.ca.cert, pins: [leafPin], viaProxy: true });
    await expect.poll(() => good.hub.isConnected(s.gatewayId), { timeout: 5000 }).toBe(true);
    expect(proxy.tunnels).toContain(`127.0.0.1:${good.port}`);
    await s.a.stop();

    const tunnelsBefore = proxy.tunnels.length;
    const otherCa = await agent(wrong.url, { ca: pki.ca.cert, viaProxy: true });
    await expectRefused(wrong, otherCa, `127.0.0.1:${wrong.port}`, /certificate/i);
    await otherCa.a.stop();
    const pinnedWrong = await agent(good.url, { ca: pki.ca.cert, pins: [wrongPin], viaProxy: true });
    await expectRefused(good, pinnedWrong, `127.0.0.1:${good.port}`, /CONTROLLER_PIN/);
    await pinnedWrong.a.stop();
    expect(proxy.tunnels.length - tunnelsBefore).toBeGreaterThanOrEqual(6); // every attempt went through the proxy
  });

  it("checks the controller's name through a proxy, not the proxy's", async () => {
    // The certificate is for 127.0.0.1 and localhost; the proxy (reached as "localhost") maps the
    // other names to 127.0.0.1, so only the name check can tell them apart.
    for (const host of ['127.0.0.2', 'controller.test']) {
      const s = await agent(`https://${host}:${good.port}`, { ca: pki.ca.cert, viaProxy: true });
      await expectRefused(good, s, `${host}:${good.port}`, /certificate|altname|does not match/i);
      await s.a.stop();
    }
    const ok = await agent(`https://localhost:${good.port}`, { ca: pki.ca.cert, viaProxy: true });
    await expect.poll(() => good.hub.isConnected(ok.gatewayId), { timeout: 5000 }).toBe(true);
    await ok.a.stop();
  });
});
