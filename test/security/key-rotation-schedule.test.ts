// Finding 9 (secret lifecycle): with a rotation period set (PSK_ROTATION_DAYS), links whose key
// is older than that get a new one by themselves, pushed to both ends like an operator's rotation.
import { describe, expect, it } from 'vitest';
import { missing, withStack } from '../helpers/with-stack';
import type { AuditListBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';

// "Days" shrunk to 3 s so the test sees a few rotations.
const needs = { controller: { pskRotation: { maxAgeMs: 3000, checkEveryMs: 250 } }, agents: true, name: 'rot' } as const;

describe.skipIf(missing(needs, 'key rotation schedule tests'))('periodic PSK rotation', () => {
  const s = withStack(needs);

  it('re-keys a link whose key is older than the period, on both ends, and it stays up', async () => {
    const gw = async (name: string, n: number): Promise<RegisteredGatewayBody> => {
      const g = await s.gateway<RegisteredGatewayBody>(name, { provider: 'onprem', cidrs: [`10.${n}.0.0/24`], publicIp: `198.51.100.${n}` });
      await s.agent(g, `198.51.100.${n}`, {}, { waitOnline: false });
      return g;
    };
    const [a, b] = [await gw('rot-a', 91), await gw('rot-b', 92)];
    const link = (await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id })).body;
    const get = async () => (await s.api<LinkWithEventsBody>('GET', `/api/links/${link.id}`)).body;
    await expect.poll(async () => (await get()).state, { timeout: 20_000 }).toBe('up');
    const name = `link-${link.id}`;
    const pskOf = (ip: string) => s.net.drivers.get(ip)!.conns.get(name)!.psk;
    const first = pskOf('198.51.100.91');
    await expect.poll(async () => { const l = await get(); return l.keyVersion >= 2 && l.state === 'up'; }, { timeout: 20_000 }).toBe(true);
    await expect.poll(() => pskOf('198.51.100.91') !== first && pskOf('198.51.100.91') === pskOf('198.51.100.92'), { timeout: 10_000 }).toBe(true);
    const events = (await get()).events;
    expect(events.some((e) => e.type === 'key.rotation_requested' && /rotation schedule/.test(e.message))).toBe(true);
    expect(events.some((e) => e.type === 'link.changed' && /pre-shared key/.test(e.message))).toBe(true);
    // The controller's own operation is in the audit trail, with an id of its own that the link's workflow keeps.
    const audit = (await s.api<AuditListBody>('GET', `/api/audit?target=${link.id}&action=${encodeURIComponent('rotate link key (schedule)')}`)).body.records;
    expect(audit[0]).toMatchObject({ actor: 'controller', source: 'key rotation schedule', status: 202, secret: 'link PSK', body: null });
    expect(audit[0]!.requestId).toMatch(/^rotation-[0-9a-f-]{36}$/);
    const memo = (await s.ctl.client.workflow.getHandle(link.workflowId).describe()).memo;
    expect(audit.map((record) => record.requestId)).toContain(memo?.requestId);
    // No event, view or log line carries a key.
    expect(JSON.stringify(await get())).not.toContain(pskOf('198.51.100.91'));
  }, 60_000);
});
