// PSK rotation over real HTTP: the same state rules as a CIDR change, a new key sealed to its row,
// a signal to the link's workflow, and everything put back when that signal cannot be sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decrypt } from '../../lib/crypto';
import { createStore } from '../../store';
import { jsonRequest, logText, rawRequest, recordingLogger, startTestApi, type LogLine, type ResponseBody, type TestApi } from '../helpers/api-harness';

interface LinkBody extends ResponseBody { id: string; state: string; keyVersion: number; keyRotatedAt: string; workflowId: string }

describe('POST /api/links/:id/rotate-key', () => {
  let api: TestApi;
  let link: LinkBody;

  const row = () => api.db.link.findUniqueOrThrow({ where: { id: link.id } });
  const psk = (ciphertext: string) => decrypt(api.secretKey, ciphertext, { table: 'Link', id: link.id });
  const rotate = (body?: unknown) => jsonRequest(api.port, 'POST', `/api/links/${link.id}/rotate-key`, body);
  const snapshot = async () => ({ link: await row(), events: await api.db.linkEvent.findMany({ where: { linkId: link.id } }) });

  beforeAll(async () => {
    api = await startTestApi();
    const a = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'a', provider: 'onprem', cidrs: ['10.1.0.0/24'] })).json as { id: string };
    const b = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'b', provider: 'onprem', cidrs: ['10.2.0.0/24'] })).json as { id: string };
    link = (await jsonRequest(api.port, 'POST', '/api/links', { a: a.id, b: b.id })).json as LinkBody;
  });
  afterAll(async () => {
    await api?.close();
  });
  beforeEach(() => {
    api.links.fail.clear();
    api.links.calls.length = 0;
  });

  it('shows keyVersion and keyRotatedAt in the link view, never the key', async () => {
    expect(link.keyVersion).toBe(1);
    expect(Number.isNaN(Date.parse(link.keyRotatedAt))).toBe(false);
    const got = await jsonRequest(api.port, 'GET', `/api/links/${link.id}`);
    expect(got.json).toMatchObject({ keyVersion: 1 });
    const current = await row();
    expect(got.text).not.toContain(psk(current.pskCiphertext));
    expect(got.text).not.toContain(current.pskCiphertext);
  });

  it.each([
    ['provisioning', /still being provisioned/],
    ['updating', /already applying a change/],
    ['deleting', /being deleted/],
    ['deleted', /deleted/],
  ])('refuses a link that is %s with 409, changing nothing', async (state, message) => {
    await api.db.link.update({ where: { id: link.id }, data: { state } });
    const before = await snapshot();
    const r = await rotate();
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('conflict');
    expect(r.json.error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
    expect(api.links.calls).toEqual([]);
  });

  it.each([['up'], ['degraded'], ['failed']])('rotates the key of a link that is %s (202), signalling its workflow', async (state) => {
    await api.db.link.update({ where: { id: link.id }, data: { state, stateReason: state === 'up' ? null : 'something' } });
    const before = await row();
    const oldPsk = psk(before.pskCiphertext);
    const r = await rotate();
    expect(r.status).toBe(202);
    const body = r.json as LinkBody;
    expect(body).toMatchObject({ id: link.id, state: 'updating', keyVersion: before.keyVersion + 1 });
    expect(Date.parse(body.keyRotatedAt)).toBeGreaterThanOrEqual(before.keyRotatedAt.getTime());

    const after = await row();
    const newPsk = psk(after.pskCiphertext);
    expect(newPsk).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newPsk).not.toBe(oldPsk);
    expect(after).toMatchObject({ keyVersion: before.keyVersion + 1, state: 'updating', stateReason: null });
    expect(api.links.calls).toEqual([{ op: 'reconfigure', args: [link.workflowId, 'key'] }]);

    const events = await api.db.linkEvent.findMany({ where: { linkId: link.id, type: 'key.rotation_requested' }, orderBy: { id: 'desc' } });
    expect(events[0]!.message).toContain(`version ${before.keyVersion + 1}`);
    for (const secret of [oldPsk, newPsk]) {
      expect(r.text).not.toContain(secret);
      expect(JSON.stringify(events)).not.toContain(secret);
      expect(logText(api.logs)).not.toContain(secret);
    }
  });

  it('puts everything back and answers 503 when the workflow cannot be signalled', async () => {
    await api.db.link.update({ where: { id: link.id }, data: { state: 'degraded', stateReason: 'b is offline' } });
    const before = await snapshot();
    const errorsBefore = api.logs.filter((l) => l.level === 'error').length;
    api.links.fail.add('reconfigure');
    const r = await rotate();
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('unavailable');
    expect(r.json.error.message).toMatch(/not rotated/);
    expect(await snapshot()).toEqual({ ...before, link: { ...before.link, updatedAt: expect.any(Date) as Date } });
    expect(api.logs.filter((l) => l.level === 'error').length).toBe(errorsBefore + 1);
  });

  it('lets one of two simultaneous rotations through', async () => {
    await api.db.link.update({ where: { id: link.id }, data: { state: 'up' } });
    const before = await row();
    const results = await Promise.all([rotate(), rotate()]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    expect((await row()).keyVersion).toBe(before.keyVersion + 1);
    expect(api.links.calls).toHaveLength(1);
  });

  it('takes an empty JSON object or no body, and refuses anything else', async () => {
    await api.db.link.update({ where: { id: link.id }, data: { state: 'up' } });
    expect((await rotate({})).status).toBe(202);
    await api.db.link.update({ where: { id: link.id }, data: { state: 'up' } });
    expect((await rawRequest(api.port, { method: 'POST', path: `/api/links/${link.id}/rotate-key`, headers: { 'content-length': '0' } })).status).toBe(202);
    await api.db.link.update({ where: { id: link.id }, data: { state: 'up' } });
    const before = await snapshot();
    const extra = await rotate({ keyVersion: 99 });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain('keyVersion');
    expect(await snapshot()).toEqual(before);
    expect((await jsonRequest(api.port, 'POST', '/api/links/lnmissing/rotate-key')).status).toBe(404);
  });

  it('is callable without HTTP (the periodic rotation), recording who asked', async () => {
    const { rotateLinkKey } = await import('../../api/link-keys');
    await api.db.link.update({ where: { id: link.id }, data: { state: 'up' } });
    const before = await row();
    const lines: LogLine[] = [];
    const at = new Date('2030-01-02T03:04:05Z');
    const rotated = await rotateLinkKey({ store: createStore(api.db), secretKey: api.secretKey, links: api.links, log: recordingLogger(lines), clock: () => at }, link.id, { reason: 'schedule' });
    expect(rotated).toMatchObject({ keyVersion: before.keyVersion + 1, keyRotatedAt: at, state: 'updating' });
    expect(logText(lines)).not.toContain(psk(rotated.pskCiphertext));
    const event = await api.db.linkEvent.findFirstOrThrow({ where: { linkId: link.id, type: 'key.rotation_requested' }, orderBy: { id: 'desc' } });
    expect(JSON.parse(event.data!)).toMatchObject({ reason: 'schedule', keyVersion: before.keyVersion + 1 });
  });
});
