// Hostile input over real HTTP: never a 500, always the one error shape, and a refused request stores nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { jsonRequest, logText, rawRequest, startTestApi, type RawResponse, type ResponseBody, type TestApi } from '../helpers/api-harness';

interface Gw { id: string; cidrs: string[] }

describe('API input handling', () => {
  let api: TestApi;
  let a: Gw;
  let b: Gw;
  let linkId: string;

  const counts = async () => ({
    gateways: await api.db.gateway.count(),
    links: await api.db.link.count(),
    events: await api.db.linkEvent.count(),
    tokens: await api.db.enrolmentToken.count(),
    // The link's carried networks: a refused PATCH must leave them as they were.
    linkRow: await api.db.link.findUnique({ where: { id: linkId }, select: { aCidrs: true, bCidrs: true, state: true, pskCiphertext: true } }),
  });

  /** The one error shape, with the expected status and code. */
  const expectError = (r: RawResponse, status: number, code: string) => {
    // An answer that is not the error shape has no error: it shows up as code undefined.
    expect({ status: r.status, code: (r.json.error as ResponseBody['error'] | undefined)?.code }).toEqual({ status, code });
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(typeof r.json.error.message).toBe('string');
  };

  beforeAll(async () => {
    api = await startTestApi();
    a = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'a', provider: 'onprem', cidrs: ['10.1.0.0/24', 'fd00:1::/64'] })).json;
    b = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'b', provider: 'onprem', cidrs: ['10.2.0.0/24', 'fd00:2::/64'] })).json;
    const link = await jsonRequest(api.port, 'POST', '/api/links', { a: a.id, b: b.id });
    expect(link.status).toBe(202);
    linkId = (link.json as { id: string }).id;
  });

  afterAll(async () => {
    await api?.close();
  });

  beforeEach(async () => {
    // A settled link takes changes.
    await api.db.link.update({ where: { id: linkId }, data: { state: 'up' } });
  });

  describe('CIDR fields', () => {
    it.each([
      ['POST', '/api/gateways', 'cidrs', () => ({ name: 'z', provider: 'onprem', cidrs: ['fe80::%eth0/64'] })],
      ['POST', '/api/gateways', 'publicIp', () => ({ name: 'z', provider: 'onprem', cidrs: ['10.9.0.0/24'], publicIp: 'fe80::1%eth0' })],
      ['POST', '/api/links', 'cidrs.a', () => ({ a: a.id, b: b.id, cidrs: { a: ['fe80::%eth0/64'] } })],
      ['PATCH', '/api/links/:link', 'cidrs.b', () => ({ cidrs: { b: ['fe80::%25eth0/64'] } })],
      ['POST', '/api/links/:link/plan', 'cidrs.a', () => ({ cidrs: { a: ['fe80::%eth0/64'] } })],
    ])('%s %s refuses a zone id with 400 naming %s', async (method, path, field, body) => {
      const before = await counts();
      const r = await jsonRequest(api.port, method, path.replace(':link', linkId), body());
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toContain(field);
      expect(r.json.error.message).toMatch(/zone/);
      expect(r.json.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(await counts()).toEqual(before);
    });

    it('refuses an IPv4-mapped IPv6 network with 400, suggesting its IPv4 form', async () => {
      const before = await counts();
      for (const [method, path, body, field] of [
        ['POST', '/api/gateways', { name: 'mapped', provider: 'onprem', cidrs: ['::ffff:10.1.0.0/120'] }, 'cidrs'],
        ['POST', '/api/gateways', { name: 'mapped', provider: 'onprem', cidrs: ['10.7.0.0/24', '::FFFF:a08:0/120'] }, 'cidrs'],
        ['POST', '/api/links', { a: a.id, b: b.id, cidrs: { b: ['::ffff:10.2.0.0/120'] } }, 'cidrs.b'],
        ['PATCH', `/api/links/${linkId}`, { cidrs: { a: ['0:0:0:0:0:ffff:10.1.0.0/120'] } }, 'cidrs.a'],
      ] as const) {
        const r = await jsonRequest(api.port, method, path, body);
        expectError(r, 400, 'invalid');
        expect(r.json.error.message).toContain(field);
        expect(r.json.error.message).toMatch(/IPv4-mapped.*write it as 10\.\d\.0\.0\/24/);
      }
      expect(await counts()).toEqual(before);
    });

    it.each([['0.0.0.0/0'], ['::/0']])('refuses the default route %s as a gateway network unless allowDefaultRoute is true', async (cidr) => {
      const before = await counts();
      // The other entry is of the other family: a list that overlaps itself is refused for that first.
      const other = cidr.startsWith('::/') ? '10.50.0.0/24' : 'fd00:50::/64';
      const r = await jsonRequest(api.port, 'POST', '/api/gateways', { name: `dr-${cidr.length}`, provider: 'onprem', cidrs: [other, cidr] });
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toContain('cidrs');
      expect(r.json.error.message).toContain('allowDefaultRoute');
      expect(await counts()).toEqual(before);
      const ok = await jsonRequest(api.port, 'POST', '/api/gateways', { name: `dr-${cidr.length}`, provider: 'onprem', cidrs: [cidr], allowDefaultRoute: true });
      expect(ok.status).toBe(201);
      await api.db.gateway.delete({ where: { id: ok.json.id } });
    });

    it('refuses a default route in link CIDRs unless allowDefaultRoute is true', async () => {
      const before = await counts();
      const patch = await jsonRequest(api.port, 'PATCH', `/api/links/${linkId}`, { cidrs: { a: ['0.0.0.0/0'] }, allowOutsideNetworks: true });
      expectError(patch, 400, 'invalid');
      expect(patch.json.error.message).toContain('cidrs.a');
      expect(patch.json.error.message).toContain('allowDefaultRoute');
      const plan = await jsonRequest(api.port, 'POST', `/api/links/${linkId}/plan`, { cidrs: { b: ['::/0'] }, allowOutsideNetworks: true });
      expectError(plan, 400, 'invalid');
      expect(plan.json.error.message).toContain('cidrs.b');
      const world = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'world', provider: 'onprem', cidrs: ['0.0.0.0/0'], allowDefaultRoute: true })).json as Gw;
      const c = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'c', provider: 'onprem', cidrs: ['fd00:3::/64'] })).json as Gw;
      const mid = await counts();
      const create = await jsonRequest(api.port, 'POST', '/api/links', { a: c.id, b: world.id, cidrs: { b: ['0.0.0.0/0'] } });
      expectError(create, 400, 'invalid');
      expect(create.json.error.message).toContain('cidrs.b');
      expect(await counts()).toEqual(mid);
      // Said explicitly, it is accepted.
      const allowed = await jsonRequest(api.port, 'POST', `/api/links/${linkId}/plan`, { cidrs: { a: ['10.1.0.0/24'], b: ['::/0'] }, allowOutsideNetworks: true, allowDefaultRoute: true });
      expect(allowed.status).toBe(200);
      expect((await counts()).linkRow).toEqual(before.linkRow);
    });
  });

  describe('paths and bodies', () => {
    it.each([['GET', '/api/gateways/%E0%A4%A'], ['GET', '/api/links/%E0%A4%A'], ['DELETE', '/api/links/%ZZ'], ['PATCH', '/api/links/%E0%A4%A']])('%s %s (bad percent-encoding) is a 400', async (method, path) => {
      const r = await jsonRequest(api.port, method, path, method === 'PATCH' ? { cidrs: { a: ['10.1.0.0/24'] } } : undefined);
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toContain('percent-encoding');
    });

    const gatewayBody = JSON.stringify({ name: 'zipped', provider: 'onprem', cidrs: ['10.60.0.0/24'] });
    it.each([
      ['gzip', gzipSync(gatewayBody).subarray(0, 20)],
      ['gzip', Buffer.from('not gzip at all')],
      ['br', Buffer.from([0xff, 0xff, 0xff, 0x00, 0x13])],
      ['deflate', Buffer.from('definitely not deflate')],
    ])('a corrupt %s body is a 400 and stores nothing', async (encoding, bytes) => {
      const before = await counts();
      const r = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: bytes });
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toContain(encoding);
      expect(await counts()).toEqual(before);
    });

    it.each([
      ['gzip', gzipSync],
      ['br', brotliCompressSync],
      ['deflate', deflateSync],
    ] as const)('a well-formed %s body is still read', async (encoding, compress) => {
      const name = `zipped-${encoding}`;
      const r = await rawRequest(api.port, {
        method: 'POST',
        path: '/api/gateways',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body: compress(JSON.stringify({ name, provider: 'onprem', cidrs: [`10.6${encoding.length}.0.0/24`] })),
      });
      expect(r.status).toBe(201);
      await api.db.gateway.delete({ where: { id: r.json.id } });
    });

    it('an unsupported content encoding or charset is a 415', async () => {
      const before = await counts();
      const enc = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json', 'content-encoding': 'compress' }, body: gatewayBody });
      expectError(enc, 415, 'unsupported');
      expect(enc.json.error.message).toContain('compress');
      const charset = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body: gatewayBody });
      expectError(charset, 415, 'unsupported');
      expect(charset.json.error.message).toMatch(/charset/i);
      expect(await counts()).toEqual(before);
    });

    it.each([
      ['text/plain'],
      ['application/x-www-form-urlencoded'],
      ['multipart/form-data; boundary=x'],
      [undefined],
    ])('a body sent as %s is a 415 on POST and PATCH', async (type) => {
      const before = await counts();
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const post = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers, body: gatewayBody });
      expectError(post, 415, 'unsupported');
      expect(post.json.error.message).toContain('application/json');
      const patch = await rawRequest(api.port, { method: 'PATCH', path: `/api/links/${linkId}`, headers, body: JSON.stringify({ cidrs: { a: ['10.1.0.0/25'] } }) });
      expectError(patch, 415, 'unsupported');
      expect(await counts()).toEqual(before);
    });

    it('a body over the limit is a 413, with or without a content-length', async () => {
      const before = await counts();
      const huge = JSON.stringify({ name: 'big', provider: 'onprem', cidrs: ['10.70.0.0/24'], pad: 'x'.repeat(10 * 1024 * 1024) });
      const sized = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json' }, body: huge });
      expectError(sized, 413, 'too_large');
      expect(sized.json.error.message).toMatch(/256 ?kB/i);
      const chunked = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: huge });
      expectError(chunked, 413, 'too_large');
      // A small compressed body that inflates past the limit is just as large.
      const bomb = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(huge) });
      expectError(bomb, 413, 'too_large');
      expect(await counts()).toEqual(before);
    });

    it('deeply nested or very wide JSON is a short 400', async () => {
      const deep = `{"name":"d","provider":"onprem","cidrs":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const nested = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json' }, body: deep });
      expectError(nested, 400, 'invalid');
      const wide = `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
      const keys = await rawRequest(api.port, { method: 'POST', path: '/api/links', headers: { 'content-type': 'application/json' }, body: wide });
      expectError(keys, 400, 'invalid');
      // The answer names the problem without repeating the whole body back.
      expect(keys.text.length).toBeLessThan(8 * 1024);
      const long = `{"a":"x","b":"y","cidrs":{"a":[${Array.from({ length: 130_000 }, () => '0').join(',')}]}}`;
      expectError(await rawRequest(api.port, { method: 'POST', path: '/api/links', headers: { 'content-type': 'application/json' }, body: long }), 400, 'invalid');
    });

    it.each([
      ['POST', '/api/links', '{"a":"\\ud800","b":"gwx"}'],
      ['POST', '/api/links', '{"a":"gwx","b":"x\\udfff"}'],
      ['POST', '/api/gateways', '{"name":"c","provider":"aws","region":"us-east-1","publicIp":"198.51.100.1","account":"\\ud800"}'],
      ['POST', '/api/gateways', '{"\\ud800":1,"name":"c","provider":"onprem","cidrs":["10.90.0.0/24"]}'],
      ['PATCH', '/api/links/:link', '{"cidrs":{"a":["10.1.0.0/25"]},"note":"\\udbff"}'],
    ])('%s %s with a lone surrogate %s is a 400 (the database cannot hold it)', async (method, path, body) => {
      const before = await counts();
      const r = await rawRequest(api.port, { method, path: path.replace(':link', linkId), headers: { 'content-type': 'application/json' }, body });
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toMatch(/Unicode/);
      expect(await counts()).toEqual(before);
    });

    it('malformed JSON and non-object bodies are 400s', async () => {
      for (const body of ['{"name":', 'null', '"text"', '[]', '[1,2]']) {
        const r = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json' }, body });
        expectError(r, 400, 'invalid');
      }
    });
  });

  describe('prototype keys', () => {
    const hostile = [
      ['POST', '/api/gateways', '{"name":"p","provider":"onprem","cidrs":["10.80.0.0/24"],"__proto__":{"polluted":"yes"}}', '__proto__'],
      ['POST', '/api/gateways', '{"name":"p","provider":"onprem","cidrs":["10.80.0.0/24"],"constructor":{"prototype":{"polluted":"yes"}}}', 'constructor'],
      ['POST', '/api/links', '{"a":"A","b":"B","__proto__":{"polluted":"yes"}}', '__proto__'],
      ['POST', '/api/links', '{"a":"A","b":"B","cidrs":{"__proto__":{"a":["10.1.0.0/24"]}}}', '__proto__'],
      ['PATCH', '/api/links/:link', '{"cidrs":{"a":["10.1.0.0/25"]},"__proto__":{"allowOutsideNetworks":true}}', '__proto__'],
      ['PATCH', '/api/links/:link', '{"cidrs":{"constructor":{"prototype":{"polluted":"yes"}}}}', 'constructor'],
      ['POST', '/api/links/:link/plan', '{"__proto__":{"cidrs":{"a":["10.1.0.0/25"]}}}', '__proto__'],
      ['POST', '/api/gateways/:gw/enrolment-token', '{"__proto__":{"ttlSeconds":60}}', '__proto__'],
      ['POST', '/api/links/:link/rotate-key', '{"constructor":{"prototype":{"polluted":"yes"}}}', 'constructor'],
    ] as const;
    it.each(hostile)('%s %s with %s is a 400 that pollutes nothing', async (method, path, body, key) => {
      const before = await counts();
      const r = await rawRequest(api.port, {
        method,
        path: path.replace(':link', linkId).replace(':gw', a.id),
        headers: { 'content-type': 'application/json' },
        body: body.replace('"A"', `"${a.id}"`).replace('"B"', `"${b.id}"`),
      });
      expectError(r, 400, 'invalid');
      expect(r.json.error.message).toContain(key);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(await counts()).toEqual(before);
      // Still serving.
      expect((await jsonRequest(api.port, 'GET', '/api/health')).status).toBe(200);
    });
  });
});

describe('API unknown errors', () => {
  it('answers 500 "internal error" without the cause, logged once', async () => {
    const api = await startTestApi({
      wrapDb: (db) =>
        new Proxy(db, {
          get(target, prop, receiver) {
            // The gateway list's raw read fails as a corrupt database would; every other statement runs.
            if (prop === '$queryRaw') {
              return (query: { sql: string }, ...values: unknown[]) =>
                /FROM "Gateway" ORDER BY/.test(query.sql) ? Promise.reject(new Error('SQLITE_CORRUPT: row 7 of secret_table')) : target.$queryRaw(query as never, ...values);
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        }),
    });
    try {
      const r = await jsonRequest(api.port, 'GET', '/api/gateways');
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ error: { code: 'internal', message: 'internal error' } });
      expect(r.text).not.toContain('SQLITE');
      const errors = api.logs.filter((l) => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(logText(errors)).toContain('SQLITE_CORRUPT');
    } finally {
      await api.close();
    }
  });

  it('a 503 (workflow service unreachable) is logged once, by the handler that knows the cause', async () => {
    const api = await startTestApi();
    try {
      const x = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'x', provider: 'onprem', cidrs: ['10.1.0.0/24'] })).json as Gw;
      const y = (await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'y', provider: 'onprem', cidrs: ['10.2.0.0/24'] })).json as Gw;
      api.links.fail.add('start');
      const r = await jsonRequest(api.port, 'POST', '/api/links', { a: x.id, b: y.id });
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('unavailable');
      expect(api.logs.filter((l) => l.level === 'error')).toHaveLength(1);
      expect(await api.db.link.count()).toBe(0);
    } finally {
      await api.close();
    }
  });
});
