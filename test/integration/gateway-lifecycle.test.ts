// The gateway calls the console needs (PATCH name and networks, DELETE, secret rotation) and the
// live event stream (GET /api/events), against a real controller (API, hub, worker) on SQLite
// with real agents over the fake IPsec network.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_PATH, CloseCode, ENROL_PATH, authHeader, enrolHeader } from '../../protocol/messages';
import { recordingLogger, type TestAgent } from '../helpers/agents';
import { openSse, type SseMessage } from '../helpers/sse';
import { missing, withStack } from '../helpers/with-stack';
import type { EnrolmentTokenBody, ErrorResponseBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody, UpdatedGatewayBody } from '../helpers/api-harness';

const TOKEN = 'lifecycle-test-token-0123456789abcdef';
const needs = { controller: { apiToken: TOKEN }, agents: true, name: 'gw-life' } as const;
const auth = { authorization: `Bearer ${TOKEN}` };

/** The status of a WebSocket upgrade to the agents' listener with these credentials. */
function upgradeStatus(agentUrl: string, gatewayId: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${agentUrl.replace(/^http/, 'ws')}${AGENT_PATH}`, { headers: { authorization: authHeader(gatewayId, secret) } });
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', reject);
  });
}

describe.skipIf(missing(needs, 'gateway lifecycle tests'))('gateway calls and the event stream', () => {
  const s = withStack(needs);
  const gw = (name: string, cidrs: string[]) => s.gateway<RegisteredGatewayBody>(name, cidrs);
  const linked = async (a: string, b: string) => {
    const r = await s.api<LinkBody>('POST', '/api/links', { a, b });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.id;
  };
  /** A real agent whose log the test reads; a long backoff, so refused retries are few. */
  const agentOf = async (g: RegisteredGatewayBody, ip: string) => {
    const rec = recordingLogger();
    const agent = await s.agent(g, ip, { log: rec.log, backoff: { minMs: 50, maxMs: 3000 } });
    return { agent, rec };
  };
  const settled = async (agent: TestAgent) => Promise.race([agent.done.then(() => 'resolved', () => 'rejected'), new Promise((resolve) => setTimeout(() => resolve('running'), 300))]);

  it('PATCH renames any gateway and changes an on-prem gateway\'s networks with the link checks, all or nothing', async () => {
    const a = await gw('patch-a', ['10.1.0.0/16']);
    const b = await gw('patch-b', ['10.2.0.0/16']);
    await gw('patch-c', ['10.9.0.0/16']);
    const link = await linked(a.id, b.id);

    const renamed = await s.api<UpdatedGatewayBody>('PATCH', `/api/gateways/${a.id}`, { name: 'patch-a2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('patch-a2');
    expect((await s.api<LinkWithEventsBody>('GET', `/api/links/${link}`)).body.a.name).toBe('patch-a2');

    const dup = await s.api<ErrorResponseBody>('PATCH', `/api/gateways/${a.id}`, { name: 'patch-c' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.message).toContain('patch-c');

    // Removing the network the link carries names the link.
    const lost = await s.api<ErrorResponseBody>('PATCH', `/api/gateways/${a.id}`, { cidrs: ['10.3.0.0/16'] });
    expect(lost.status).toBe(409);
    expect(lost.body.error.details?.link).toBe(link);
    expect(lost.body.error.message).toContain('10.1.0.0/16');

    // A new network overlapping the other end's: refused, and the rename in the same body is not applied.
    const overlap = await s.api<ErrorResponseBody>('PATCH', `/api/gateways/${a.id}`, { name: 'patch-a3', cidrs: ['10.1.0.0/16', '10.2.128.0/17'] });
    expect(overlap.status).toBe(409);
    expect(overlap.body.error.details?.link).toBe(link);
    const after = (await s.api<GatewayBody>('GET', `/api/gateways/${a.id}`)).body;
    expect(after.name).toBe('patch-a2');
    expect(after.cidrs).toEqual(['10.1.0.0/16']);

    // Same validation as registration: canonical, no overlaps inside, no default route unless asked.
    for (const cidrs of [['10.1.0.300/16'], ['10.1.0.0/16', '10.1.1.0/24'], [], 'x']) {
      const bad = await s.api<ErrorResponseBody>('PATCH', `/api/gateways/${a.id}`, { cidrs });
      expect(bad.status, JSON.stringify(cidrs)).toBe(400);
    }
    expect((await s.api('PATCH', `/api/gateways/${a.id}`, { cidrs: ['0.0.0.0/0'] })).status).toBe(400);
    expect((await s.api('PATCH', `/api/gateways/${a.id}`, {})).status).toBe(400);
    expect((await s.api('PATCH', `/api/gateways/${a.id}`, { name: '' })).status).toBe(400);
    expect((await s.api('PATCH', `/api/gateways/${a.id}`, { colour: 'red' })).status).toBe(400);
    expect((await s.api('PATCH', '/api/gateways/gw_nope', { name: 'x' })).status).toBe(404);

    const grown = await s.api<UpdatedGatewayBody>('PATCH', `/api/gateways/${a.id}`, { cidrs: ['10.1.0.0/16', '10.3.0.0/16'] });
    expect(grown.status, JSON.stringify(grown.body)).toBe(200);
    expect(grown.body.cidrs).toEqual(['10.1.0.0/16', '10.3.0.0/16']);
    // Reachability keeps its meaning beside the new fields.
    const reach = await s.api<UpdatedGatewayBody>('PATCH', `/api/gateways/${a.id}`, { publicIp: '198.51.100.77' });
    expect(reach.status).toBe(200);
    expect(reach.body.publicIp).toBe('198.51.100.77');
  });

  it('DELETE refuses while a live link uses the gateway, then removes it with its enrolment tokens', async () => {
    const a = await gw('del-a', ['10.21.0.0/16']);
    const b = await gw('del-b', ['10.22.0.0/16']);
    const link = await linked(a.id, b.id);
    const busy = await s.api<ErrorResponseBody>('DELETE', `/api/gateways/${a.id}`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.details?.links).toEqual([link]);
    expect(busy.body.error.message).toContain(link);
    expect((await s.api('DELETE', '/api/gateways/gw_nope')).status).toBe(404);

    const c = await gw('del-c', ['10.23.0.0/16']);
    const token = await s.api<EnrolmentTokenBody>('POST', `/api/gateways/${c.id}/enrolment-token`, {});
    expect(token.status).toBe(201);
    const gone = await s.api('DELETE', `/api/gateways/${c.id}`);
    expect(gone.status).toBe(204);
    expect((await s.api('GET', `/api/gateways/${c.id}`)).status).toBe(404);
    expect((await s.api('DELETE', `/api/gateways/${c.id}`)).status).toBe(404);
    const enrol = await fetch(`${s.ctl.agentUrl}${ENROL_PATH}`, { method: 'POST', headers: { authorization: enrolHeader(c.id, token.body.token) } });
    expect(enrol.status).toBe(401);
    // The name is free again.
    await gw('del-c', ['10.23.0.0/16']);
  });

  it('DELETE disconnects the gateway\'s agent, which is refused afterwards, says why, and keeps running', async () => {
    const g = await gw('del-agent', ['10.31.0.0/16']);
    const { agent, rec } = await agentOf(g, '198.51.100.31');
    expect((await s.api('DELETE', `/api/gateways/${g.id}`)).status).toBe(204);
    await expect.poll(() => rec.records.find((r) => r.level === 'error' && r.msg.includes(`deleted gateway ${g.id}`)), { timeout: 3000 }).toBeTruthy();
    expect(rec.records.some((r) => r.fields.code === CloseCode.revoked)).toBe(true);
    expect(await upgradeStatus(s.ctl.agentUrl, g.id, g.agentSecret)).toBe(401);
    expect(await settled(agent)).toBe('running');
    await agent.stop();
  });

  it('POST /secret rotates the agent secret: the old one stops at once, the agent is told and backs off, the new one works', async () => {
    const g = await gw('rotate', ['10.41.0.0/16']);
    const { agent, rec } = await agentOf(g, '198.51.100.41');
    const rotated = await s.api<RegisteredGatewayBody>('POST', `/api/gateways/${g.id}/secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(g.id);
    expect(rotated.body.agentSecret).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(rotated.body.agentSecret).not.toBe(g.agentSecret);
    const t0 = Date.now();
    await expect.poll(() => rec.records.find((r) => r.level === 'error' && r.msg.includes('rotated the agent secret')), { timeout: 3000 }).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(rec.records.some((r) => r.fields.code === CloseCode.secretRotated)).toBe(true);
    expect(await upgradeStatus(s.ctl.agentUrl, g.id, g.agentSecret)).toBe(401);
    // Refused retries wait out the longest backoff (3 s here) instead of hammering, and the agent does not exit.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const told = rec.records.filter((r) => r.level === 'error' && r.msg.includes('rotated the agent secret')).length;
    expect(told).toBeLessThanOrEqual(3);
    expect(await settled(agent)).toBe('running');
    await agent.stop();
    const fresh = await s.agent({ id: g.id, agentSecret: rotated.body.agentSecret }, '198.51.100.42');
    await fresh.stop();

    expect((await s.api('POST', '/api/gateways/gw_nope/secret')).status).toBe(404);
    expect((await s.api('POST', `/api/gateways/${g.id}/secret`, { length: 12 })).status).toBe(400);
  });

  it('GET /api/events: authentication, headers, hello, live changes within 1 s, resume and resync', async () => {
    const url = `${s.ctl.url}/api/events`;
    const refused = await openSse(url);
    expect(refused.status).toBe(401);

    const stream = await openSse(url, auth);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.headers.get('content-encoding')).toBeNull();
    const hello = await stream.next((m) => m.event === 'hello');
    expect(stream.retry).toBe(1000);
    expect(hello.id).toBe((hello.data as { cursor: string }).cursor);

    const a = await gw('ev-a', ['10.51.0.0/16']);
    const b = await gw('ev-b', ['10.52.0.0/16']);
    const created = await stream.next((m) => m.event === 'gateway' && (m.data as { id: string }).id === b.id);
    expect((created.data as { gateway: { name: string } }).gateway.name).toBe('ev-b');
    const link = await linked(a.id, b.id);
    await stream.next((m) => m.event === 'link-event' && (m.data as { linkId: string }).linkId === link);

    // A link state change made through the API reaches the stream within 1 s.
    const deleted = await s.api('DELETE', `/api/links/${link}`);
    expect(deleted.status).toBe(202);
    const answered = Date.now();
    const deleting = await stream.next((m) => m.event === 'link' && (m.data as { link: { id: string; state: string } | null }).link?.state === 'deleting', 1000);
    expect(deleting.at - answered).toBeLessThan(1000);
    const ids = stream.messages.map((m) => Number(m.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));

    // Resume: what happened while the client was away arrives after its Last-Event-ID.
    const lastId = stream.messages[stream.messages.length - 1]!.id!;
    stream.close();
    const renamed = await s.api('PATCH', `/api/gateways/${a.id}`, { name: 'ev-a-renamed' });
    expect(renamed.status).toBe(200);
    const resumed = await openSse(url, { ...auth, 'last-event-id': lastId });
    const got = await resumed.next((m) => m.event === 'gateway' && (m.data as { gateway: { name: string } | null }).gateway?.name === 'ev-a-renamed');
    expect(Number(got.id)).toBeGreaterThan(Number(lastId));
    expect(resumed.messages.some((m) => m.event === 'hello' || m.event === 'resync')).toBe(false);
    resumed.close();
    // The same through ?lastEventId=.
    const byQuery = await openSse(`${url}?lastEventId=${lastId}`, auth);
    await byQuery.next((m) => m.event === 'gateway' && (m.data as { id: string }).id === a.id);
    byQuery.close();

    // Unparsable, from beyond the log, or older than what is kept: resync.
    for (const id of ['abc', '999999999999']) {
      const r = await openSse(url, { ...auth, 'last-event-id': id });
      await r.next((m: SseMessage) => m.event === 'resync');
      r.close();
    }
    await s.ctl.db.$executeRawUnsafe(`DELETE FROM "Change" WHERE "seq" <= ${Number(lastId)}`);
    const old = await openSse(url, { ...auth, 'last-event-id': '1' });
    await old.next((m) => m.event === 'resync');
    old.close();
  });
});
