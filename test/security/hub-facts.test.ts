// Issue 9, finding 3: what an agent reports is untrusted (DESIGN §5). Facts, tunnel reports, RPC
// errors and results that do not fit the protocol's bounds close the socket with 1007 and leave
// nothing in the database; well-formed facts are still recorded.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { AGENT_PATH, CloseCode, PROTOCOL_VERSION, authHeader } from '../../protocol/messages';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const SECRET = 'f'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;
let server: http.Server;
let hub: GatewayHub;
let url: string;
const onlines: string[] = [];
const factsSeen: unknown[] = [];
const tunnels: unknown[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  await db.gateway.create({ data: { id: 'gw1', name: 'gw1', provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(SECRET) } });
  hub = new GatewayHub({
    instanceId: 'facts-hub',
    store: dbPresenceStore(db),
    log: silentLogger,
    heartbeatMs: 60_000,
    rpcTimeoutMs: 2000,
    helloTimeoutMs: 5000,
    onOnline: (g) => onlines.push(g),
    onFacts: (_g, f) => factsSeen.push(f),
    onTunnel: (_g, r) => tunnels.push(r),
  });
  server = http.createServer((req, res) => hub.handleHttp(req, res));
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${AGENT_PATH}`;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await expect.poll(() => hub.isConnected(asGatewayId('gw1'))).toBe(false);
  await expect.poll(async () => (await gateway()).online).toBe(false);
  await db.gateway.update({ where: { id: 'gw1' }, data: { facts: null, observedIp: null } });
  onlines.length = factsSeen.length = tunnels.length = 0;
});

afterAll(async () => {
  await hub.close();
  server.close();
  await cleanupDb();
});

const gateway = () => db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } });

async function connect(): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url, { headers: { authorization: authHeader('gw1', SECRET) } });
  sockets.push(ws);
  // The close code, or 0 when the hub left the socket open for 3 s (it accepted what was sent).
  const closed = new Promise<number>((resolve) => {
    ws.on('close', (code) => resolve(code));
    ws.once('open', () => setTimeout(() => resolve(0), 3000).unref());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

function welcomed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => ws.on('message', (d) => (JSON.parse((d as Buffer).toString()) as { type: string }).type === 'welcome' && resolve()));
}

/** Connects and says hello with good facts; resolves once welcomed. */
async function online(facts: Record<string, unknown> = { agentVersion: '0.1.0', publicIp: '203.0.113.9' }) {
  const c = await connect();
  const w = welcomed(c.ws);
  c.ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts }));
  await w;
  return c;
}

const good = {
  agentVersion: '0.1.0',
  hostname: 'vpn-1.example.internal',
  publicIp: '2001:db8::7',
  localAddrs: ['192.168.1.10', 'fe80::a00:27ff:fe4e:66a1'],
  cidrs: ['10.1.0.0/16', '2001:db8:1::/48'],
  strongswanVersion: '5.9.8',
  cloud: { provider: 'aws', instanceId: 'i-0abc123def4567890', region: 'eu-central-1' },
};

describe('hello facts', () => {
  it('records well-formed facts', async () => {
    await online(good);
    expect(JSON.parse((await gateway()).facts!)).toEqual(good);
    expect(onlines).toEqual(['gw1']);
  });

  it.each([
    ['a public IP that is not an address', { publicIp: 'not-an-ip;$(reboot)' }],
    ['a local address that is not an address', { localAddrs: ['10.0.0.1', '$(reboot)'] }],
    ['20,000 local addresses (an 840 KB frame)', { localAddrs: Array.from({ length: 20_000 }, (_, i) => `2001:0db8:0000:0000:0000:0000:${(i >> 16).toString(16).padStart(4, '0')}:${(i & 0xffff).toString(16).padStart(4, '0')}`) }],
    ['65 local addresses', { localAddrs: Array.from({ length: 65 }, (_, i) => `10.0.0.${i + 1}`) }],
    ['a CIDR that is not one', { cidrs: ['10.0.0.0/24', '10.1.0.0/33'] }],
    ['a CIDR with a command in it', { cidrs: ['10.0.0.0/24;reboot'] }],
    ['65 CIDRs', { cidrs: Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`) }],
    ['a 300-character hostname', { hostname: 'a'.repeat(300) }],
    ['a hostname with markup', { hostname: '<img src=x onerror=alert(1)>' }],
    ['an 800 KB agent version', { agentVersion: 'v'.repeat(800_000) }],
    ['a strongSwan version with control characters', { strongswanVersion: '5.9.8\u001b[2J' }],
    ['an instance id that is not one', { cloud: { provider: 'aws', instanceId: 'i-../../etc' } }],
    ['a region that is not one', { cloud: { provider: 'aliyun', instanceId: 'i-bp1abc', region: 'cn-hangzhou; drop table' } }],
    ['an unknown provider', { cloud: { provider: 'gcp', instanceId: 'i-abc' } }],
  ])('refuses %s with 1007 and records nothing', async (_what, bad) => {
    const { ws, closed } = await connect();
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts: { agentVersion: '0.1.0', ...bad } }));
    expect(await closed).toBe(CloseCode.malformed);
    const g = await gateway();
    expect(g.facts).toBeNull();
    expect(g.online).toBe(false);
    expect(onlines).toEqual([]);
  });
});

describe('facts frames on a live connection', () => {
  it('refuses a bad public IP with 1007 and keeps the facts of the hello', async () => {
    const { ws, closed } = await online();
    ws.send(JSON.stringify({ type: 'facts', facts: { agentVersion: '0.1.0', publicIp: 'not-an-ip;$(reboot)' } }));
    expect(await closed).toBe(CloseCode.malformed);
    expect(JSON.parse((await gateway()).facts!)).toEqual({ agentVersion: '0.1.0', publicIp: '203.0.113.9' });
    expect(factsSeen).toEqual([]);
  });

  it('refuses an oversized facts frame, so GET /api/gateways cannot grow by it', async () => {
    const { ws, closed } = await online();
    const localAddrs = Array.from({ length: 20_000 }, (_, i) => `2001:db8::${i.toString(16)}`);
    ws.send(JSON.stringify({ type: 'facts', facts: { agentVersion: '0.1.0', localAddrs } }));
    expect(await closed).toBe(CloseCode.malformed);
    expect((await gateway()).facts!.length).toBeLessThan(200);
  });
});

describe('tunnel reports', () => {
  const at = new Date().toISOString();
  it.each([
    ['a 1 MiB reason', { name: 'link-ln1', up: false, reason: 'r'.repeat(1_000_000), at }],
    ['a 257-character reason', { name: 'link-ln1', up: false, reason: 'r'.repeat(257), at }],
    ['a name that is not a link connection', { name: 'site-to-site', up: true, at }],
    ['a name with a path in it', { name: 'link-../../x', up: true, at }],
    ['a time that is not a time', { name: 'link-ln1', up: true, at: 'yesterday' }],
  ])('refuses %s with 1007', async (_what, frame) => {
    const { ws, closed } = await online();
    ws.send(JSON.stringify({ type: 'tunnel', ...frame }));
    expect(await closed).toBe(CloseCode.malformed);
    expect(tunnels).toEqual([]);
  });

  it('passes a well-formed report', async () => {
    const { ws } = await online();
    ws.send(JSON.stringify({ type: 'tunnel', name: 'link-lnabc234', up: false, reason: 'child-updown', at }));
    await expect.poll(() => tunnels).toEqual([{ name: 'link-lnabc234', up: false, reason: 'child-updown', at }]);
  });
});

describe('responses', () => {
  it('closes the socket on an RPC error with a 1,025-character message, failing the call', async () => {
    const { ws, closed } = await online();
    ws.on('message', (d) => {
      const f = JSON.parse((d as Buffer).toString()) as { type: string; id: string };
      if (f.type === 'request') ws.send(JSON.stringify({ type: 'response', id: f.id, ok: false, error: { code: 'x', message: 'm'.repeat(1025) } }));
    });
    await expect(hub.call(asGatewayId('gw1'), 'status', {})).rejects.toMatchObject({ code: 'disconnected' });
    expect(await closed).toBe(CloseCode.malformed);
  });

  it('refuses a status result with more than 1,000 SAs', async () => {
    const { ws } = await online();
    const sa = { name: 'link-ln1', state: 'ESTABLISHED', children: [] };
    ws.on('message', (d) => {
      const f = JSON.parse((d as Buffer).toString()) as { type: string; id: string };
      if (f.type === 'request') ws.send(JSON.stringify({ type: 'response', id: f.id, ok: true, result: { sas: Array<typeof sa>(1001).fill(sa), links: [] } }));
    });
    await expect(hub.call(asGatewayId('gw1'), 'status', {})).rejects.toMatchObject({ code: 'bad_response' });
  });
});
