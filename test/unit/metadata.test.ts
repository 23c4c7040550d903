// The agent's cloud metadata reader against a fake metadata service. The first block pins the fake to
// the documentation with raw HTTP (sources cited per test), so the second block tests the reader
// against documented behaviour, not against whatever the fake happens to do.
//   [EC2] AWS EC2 User Guide, "Instance metadata" — "How Instance Metadata Service Version 2 works",
//         "Responses and error messages" (400/401/403/404), "Manage the IPv4 addresses" (EIP in public-ipv4).
//   [ECS] Alibaba Cloud ECS help, "Instance metadata" (items eipv4, public-ipv4, instance-id, region-id;
//         hardened mode token PUT/headers, TTL 1..21600) and its FAQ (TTL out of range → 400,
//         X-Forwarded-For → 403, invalid token → 401); hardened-only GET without token → 403.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetadataSource, type MetadataOptions } from '../../agent/metadata';
import { FakeMetadataServer, type FakeMetadataOptions } from '../fakes/metadata';
import type { Logger } from '../../lib/log';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function recorder(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const make = (base: Record<string, unknown>): Logger => {
    const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, fields: { ...base, ...fields } });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => make({ ...base, ...f }) };
  };
  return { log: make({}), lines };
}

interface RawReply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function raw(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A loopback URL where nothing listens (connection refused at once). */
async function closedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

const fakes: FakeMetadataServer[] = [];
async function fake(o: FakeMetadataOptions): Promise<FakeMetadataServer> {
  const f = await FakeMetadataServer.start(o);
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

const AWS_TTL = 'X-aws-ec2-metadata-token-ttl-seconds';
const AWS_TOKEN = 'X-aws-ec2-metadata-token';
const ALI_TTL = 'X-aliyun-ecs-metadata-token-ttl-seconds';
const ALI_TOKEN = 'X-aliyun-ecs-metadata-token';

describe('fake AWS IMDSv2 follows the EC2 documentation', () => {
  it('issues a token for a PUT with a TTL of 1..21600 s and echoes the TTL [EC2]', async () => {
    const f = await fake({ cloud: 'aws' });
    const ok = await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '21600' });
    expect(ok.status).toBe(200);
    expect(ok.body.length).toBeGreaterThan(10);
    expect(ok.headers[AWS_TTL.toLowerCase()]).toBe('21600');
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '1' })).status).toBe(200);
  });

  it('answers 400 to a PUT without a valid TTL [EC2: "400 - Missing or Invalid Parameters"]', async () => {
    const f = await fake({ cloud: 'aws' });
    for (const ttl of [undefined, '0', '21601', 'abc', '-5']) {
      const r = await raw(f.url, 'PUT', '/latest/api/token', ttl === undefined ? {} : { [AWS_TTL]: ttl });
      expect(r.status, `ttl ${ttl}`).toBe(400);
    }
    // The other cloud's header is no TTL at all.
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '60' })).status).toBe(400);
  });

  it('rejects a token PUT carrying X-Forwarded-For [EC2: "PUT requests are rejected if they contain an X-Forwarded-For header"]', async () => {
    const f = await fake({ cloud: 'aws' });
    const r = await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '60', 'X-Forwarded-For': '203.0.113.9' });
    expect(r.status).toBe(403);
  });

  it('answers 401 without a token, with a bogus token and with an expired one [EC2: "requests without a valid token or with an expired token receive a 401"]', async () => {
    let t = 1_000_000;
    const f = await fake({ cloud: 'aws', now: () => t });
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id')).status).toBe(401);
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id', { [AWS_TOKEN]: 'nope' })).status).toBe(401);
    const token = (await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '60' })).body;
    const ok = await raw(f.url, 'GET', '/latest/meta-data/instance-id', { [AWS_TOKEN]: token });
    expect(ok).toMatchObject({ status: 200, body: f.instanceId });
    t += 60_000;
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id', { [AWS_TOKEN]: token })).status).toBe(401);
  });

  it('serves public-ipv4 (404 without one; an associated EIP shows there) and placement/region [EC2]', async () => {
    const f = await fake({ cloud: 'aws', region: 'us-east-2' });
    const token = (await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '60' })).body;
    const get = (p: string) => raw(f.url, 'GET', `/latest/meta-data/${p}`, { [AWS_TOKEN]: token });
    expect((await get('public-ipv4')).status).toBe(404);
    f.publicIp = '198.51.100.20';
    expect(await get('public-ipv4')).toMatchObject({ status: 200, body: '198.51.100.20' });
    expect(await get('placement/region')).toMatchObject({ status: 200, body: 'us-east-2' });
    expect((await get('eipv4')).status).toBe(404); // an Alibaba item
  });

  it('allows only GET and HEAD on metadata items [EC2: "HTTP GET and HEAD methods are allowed"]', async () => {
    const f = await fake({ cloud: 'aws' });
    const token = (await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '60' })).body;
    expect((await raw(f.url, 'HEAD', '/latest/meta-data/instance-id', { [AWS_TOKEN]: token })).status).toBe(200);
    expect((await raw(f.url, 'POST', '/latest/meta-data/instance-id', { [AWS_TOKEN]: token })).status).toBe(405);
  });

  it('serves tokenless GETs when IMDSv1 is allowed (HttpTokens=optional) [EC2]', async () => {
    const f = await fake({ cloud: 'aws', tokens: 'optional' });
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id')).status).toBe(200);
  });
});

describe('fake Alibaba Cloud ECS metadata follows the ECS documentation', () => {
  it('issues a token for a PUT with X-aliyun-ecs-metadata-token-ttl-seconds 1..21600 [ECS]', async () => {
    const f = await fake({ cloud: 'aliyun' });
    const ok = await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '21600' });
    expect(ok.status).toBe(200);
    const id = await raw(f.url, 'GET', '/latest/meta-data/instance-id', { [ALI_TOKEN]: ok.body });
    expect(id).toMatchObject({ status: 200, body: f.instanceId });
  });

  it('answers 400 to a TTL out of range, 403 to X-Forwarded-For, 401 to an invalid token [ECS FAQ]', async () => {
    const f = await fake({ cloud: 'aliyun' });
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '21700' })).status).toBe(400);
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [AWS_TTL]: '60' })).status).toBe(400);
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '60', 'X-Forwarded-For': 'www.example.com' })).status).toBe(403);
    expect((await raw(f.url, 'GET', '/latest/meta-data/', { [ALI_TOKEN]: 'aaa' })).status).toBe(401);
  });

  it('refuses a tokenless GET with 403 when hardening is enforced, serves it in normal mode [ECS]', async () => {
    const f = await fake({ cloud: 'aliyun', tokens: 'required' });
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id')).status).toBe(403);
    f.tokens = 'optional';
    expect(await raw(f.url, 'GET', '/latest/meta-data/instance-id')).toMatchObject({ status: 200, body: f.instanceId });
  });

  it('expires tokens after their TTL with 401 [ECS]', async () => {
    let t = 0;
    const f = await fake({ cloud: 'aliyun', now: () => t });
    const token = (await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '10' })).body;
    expect((await raw(f.url, 'GET', '/latest/meta-data/region-id', { [ALI_TOKEN]: token })).status).toBe(200);
    t = 10_000;
    expect((await raw(f.url, 'GET', '/latest/meta-data/region-id', { [ALI_TOKEN]: token })).status).toBe(401);
  });

  it('serves eipv4 and public-ipv4 separately, 404 for each the instance lacks [ECS]', async () => {
    const f = await fake({ cloud: 'aliyun', tokens: 'optional', region: 'cn-shanghai' });
    const get = (p: string) => raw(f.url, 'GET', `/latest/meta-data/${p}`);
    expect((await get('eipv4')).status).toBe(404);
    expect((await get('public-ipv4')).status).toBe(404);
    f.eip = '203.0.113.7';
    expect(await get('eipv4')).toMatchObject({ status: 200, body: '203.0.113.7' });
    expect((await get('public-ipv4')).status).toBe(404);
    f.publicIp = '198.51.100.30';
    expect(await get('public-ipv4')).toMatchObject({ status: 200, body: '198.51.100.30' });
    expect(await get('region-id')).toMatchObject({ status: 200, body: 'cn-shanghai' });
  });

  it('has no token endpoint on a server without hardening support (PUT → 404), plain GETs work', async () => {
    const f = await fake({ cloud: 'aliyun', tokens: 'unsupported' });
    expect((await raw(f.url, 'PUT', '/latest/api/token', { [ALI_TTL]: '60' })).status).toBe(404);
    expect((await raw(f.url, 'GET', '/latest/meta-data/instance-id')).status).toBe(200);
  });
});

describe('metadata source', () => {
  const source = (o: Partial<MetadataOptions> & { log: Logger }) => createMetadataSource({ provider: 'aws', timeoutMs: 1000, ...o });

  it('none reads nothing and asks no one', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.1' });
    const { log } = recorder();
    expect(await createMetadataSource({ provider: 'none', endpoint: f.url, log }).read()).toBeUndefined();
    expect(f.requests).toEqual([]);
  });

  it('AWS: reads identity and public IP with one IMDSv2 token reused across reads', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20', region: 'eu-west-1' });
    const { log, lines } = recorder();
    const s = source({ provider: 'aws', endpoint: f.url, log });
    const want = { provider: 'aws', instanceId: f.instanceId, region: 'eu-west-1', publicIp: '198.51.100.20' };
    expect(await s.read()).toEqual(want);
    expect(await s.read()).toEqual(want);
    expect(f.tokenRequests).toBe(1);
    const gets = f.requests.filter((r) => r.method === 'GET');
    expect(gets.every((r) => r.token !== undefined && r.status === 200)).toBe(true);
    expect(f.requests.find((r) => r.method === 'PUT')?.ttl).toBe('21600');
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('AWS: an instance without a public IPv4 still has an identity', async () => {
    const f = await fake({ cloud: 'aws' });
    const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log });
    expect(await s.read()).toEqual({ provider: 'aws', instanceId: f.instanceId, region: f.region });
  });

  it('AWS: an EIP associated, moved or released is seen on the next read', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log });
    expect((await s.read())?.publicIp).toBe('198.51.100.20');
    f.publicIp = '203.0.113.50'; // EIP associated: public-ipv4 now returns it
    expect((await s.read())?.publicIp).toBe('203.0.113.50');
    f.publicIp = undefined;
    expect((await s.read())?.publicIp).toBeUndefined();
  });

  it('AWS: a token the service no longer accepts (401) is replaced and the read succeeds', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const { log, lines } = recorder();
    const s = source({ provider: 'aws', endpoint: f.url, log });
    await s.read();
    f.expireTokens();
    expect((await s.read())?.publicIp).toBe('198.51.100.20');
    expect(f.tokenRequests).toBe(2);
    expect(f.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('AWS: renews the token shortly before its TTL ends, without meeting a 401', async () => {
    let t = 5_000_000;
    const now = () => t;
    const f = await fake({ cloud: 'aws', now });
    const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log, now, tokenTtlSeconds: 60 });
    await s.read();
    t += 50_000; // inside the TTL, before the renewal margin
    await s.read();
    expect(f.tokenRequests).toBe(1);
    t += 5_000; // 55 s: within the last 10% of 60 s
    await s.read();
    expect(f.tokenRequests).toBe(2);
    expect(f.requests.find((r) => r.method === 'PUT' && r.status === 200)?.ttl).toBe('60');
    expect(f.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  it('concurrent reads share one token PUT', async () => {
    const f = await fake({ cloud: 'aws' });
    const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log });
    const ids = await Promise.all([s.read(), s.read(), s.read()]);
    expect(ids.every((i) => i?.instanceId === f.instanceId)).toBe(true);
    expect(f.tokenRequests).toBe(1);
  });

  it('AWS: IMDS turned off (403 on the token PUT) is a warning with the status, and undefined', async () => {
    const f = await fake({ cloud: 'aws' });
    f.failNext('PUT', '/latest/api/token', 403);
    const { log, lines } = recorder();
    const s = source({ provider: 'aws', endpoint: f.url, log });
    expect(await s.read()).toBeUndefined();
    expect(lines.find((l) => l.level === 'warn')?.fields).toMatchObject({ status: 403, provider: 'aws' });
  });

  it('AWS: never falls back to IMDSv1 (an EC2-compatible service without tokens is not AWS)', async () => {
    const f = await fake({ cloud: 'aws', tokens: 'unsupported' });
    const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log });
    expect(await s.read()).toBeUndefined();
    expect(f.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it('an unexpected status fails the read with one warning per problem, and recovers', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const { log, lines } = recorder();
    const s = source({ provider: 'aws', endpoint: f.url, log });
    f.failNext('GET', '/latest/meta-data/public-ipv4', 500, 2);
    expect(await s.read()).toBeUndefined();
    expect(await s.read()).toBeUndefined();
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]?.fields).toMatchObject({ status: 500 });
    expect((await s.read())?.publicIp).toBe('198.51.100.20');
  });

  it('ignores garbage: a non-IP public address is dropped, a non-id instance id fails the read', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const { log, lines } = recorder();
    const s = source({ provider: 'aws', endpoint: f.url, log });
    f.overrides.set('public-ipv4', '<html>captive portal</html>');
    expect(await s.read()).toEqual({ provider: 'aws', instanceId: f.instanceId, region: f.region });
    f.overrides.set('instance-id', '<html><body>hello</body></html>');
    expect(await s.read()).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('instance-id'))).toBe(true);
  });

  it('Alibaba: prefers the EIP, falls back to the fixed public IP, and follows EIP changes', async () => {
    const f = await fake({ cloud: 'aliyun', publicIp: '198.51.100.30', eip: '203.0.113.7', region: 'cn-shanghai' });
    const s = source({ provider: 'aliyun', endpoint: f.url, log: recorder().log });
    expect(await s.read()).toEqual({ provider: 'aliyun', instanceId: f.instanceId, region: 'cn-shanghai', publicIp: '203.0.113.7' });
    f.eip = '203.0.113.8'; // re-associated
    expect((await s.read())?.publicIp).toBe('203.0.113.8');
    f.eip = undefined; // released: the fixed public IP (if any) is what remains
    expect((await s.read())?.publicIp).toBe('198.51.100.30');
    f.publicIp = undefined;
    expect((await s.read())?.publicIp).toBeUndefined();
    expect(f.requests.filter((r) => r.method === 'GET').every((r) => r.token !== undefined)).toBe(true);
    expect(f.tokenRequests).toBe(1);
  });

  it('Alibaba: a garbage eipv4 is ignored in favour of public-ipv4', async () => {
    const f = await fake({ cloud: 'aliyun', publicIp: '198.51.100.30', eip: '203.0.113.7' });
    const s = source({ provider: 'aliyun', endpoint: f.url, log: recorder().log });
    f.overrides.set('eipv4', 'not-an-ip');
    expect((await s.read())?.publicIp).toBe('198.51.100.30');
  });

  it('Alibaba: without a token endpoint uses plain GETs, and switches to tokens once hardening is enforced', async () => {
    const f = await fake({ cloud: 'aliyun', tokens: 'unsupported', eip: '203.0.113.7' });
    const { log, lines } = recorder();
    const s = source({ provider: 'aliyun', endpoint: f.url, log });
    expect((await s.read())?.publicIp).toBe('203.0.113.7');
    expect((await s.read())?.publicIp).toBe('203.0.113.7');
    expect(f.tokenRequests).toBe(1); // asked once, then plain
    expect(f.requests.filter((r) => r.method === 'GET').every((r) => r.token === undefined)).toBe(true);
    f.tokens = 'required'; // the operator turns on "hardened only"
    expect((await s.read())?.publicIp).toBe('203.0.113.7');
    expect(f.requests.filter((r) => r.status === 403)).toHaveLength(1);
    expect(f.tokenRequests).toBe(2);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('Alibaba: an expired token (401) is refreshed', async () => {
    const f = await fake({ cloud: 'aliyun', eip: '203.0.113.7' });
    const s = source({ provider: 'aliyun', endpoint: f.url, log: recorder().log });
    await s.read();
    f.expireTokens();
    expect((await s.read())?.publicIp).toBe('203.0.113.7');
    expect(f.tokenRequests).toBe(2);
  });

  it('auto picks the cloud that answers and sticks with it', async () => {
    const aws = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const aliyun = await fake({ cloud: 'aliyun', eip: '203.0.113.7' });
    aliyun.silent = true; // not this cloud: nothing answers at its address
    const { log, lines } = recorder();
    const s = createMetadataSource({ provider: 'auto', endpoints: { aws: aws.url, aliyun: aliyun.url }, probeTimeoutMs: 300, log });
    expect((await s.read())?.provider).toBe('aws');
    const probes = aliyun.requests.length;
    expect((await s.read())?.publicIp).toBe('198.51.100.20');
    expect(await s.read()).toMatchObject({ provider: 'aws' });
    expect(aliyun.requests.length).toBe(probes); // no more probing once chosen
    expect(lines.find((l) => l.level === 'info')?.fields).toMatchObject({ provider: 'aws' });
  });

  it('auto finds Alibaba Cloud, also when both probes go to one address', async () => {
    const aliyun = await fake({ cloud: 'aliyun', eip: '203.0.113.7' });
    const s = createMetadataSource({ provider: 'auto', endpoint: aliyun.url, log: recorder().log });
    expect(await s.read()).toMatchObject({ provider: 'aliyun', publicIp: '203.0.113.7' });
    // The AWS probe was a PUT without the Alibaba TTL header: refused by the service, not mistaken.
    expect(aliyun.requests.some((r) => r.method === 'PUT' && r.status === 400)).toBe(true);

    const aws = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const s2 = createMetadataSource({ provider: 'auto', endpoint: aws.url, log: recorder().log });
    expect(await s2.read()).toMatchObject({ provider: 'aws', publicIp: '198.51.100.20' });
  });

  it('auto in a data center: undefined within the probe deadline, logged once, no warnings', async () => {
    const silent = await fake({ cloud: 'aws' });
    silent.silent = true;
    const { log, lines } = recorder();
    const s = createMetadataSource({ provider: 'auto', endpoints: { aws: silent.url, aliyun: await closedUrl() }, probeTimeoutMs: 200, log });
    const t0 = Date.now();
    expect(await s.read()).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await s.read()).toBeUndefined();
    expect(lines.filter((l) => l.msg.startsWith('no cloud metadata service answered'))).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('unreachable service: undefined quickly, one debug line, no warning', async () => {
    const { log, lines } = recorder();
    const refused = createMetadataSource({ provider: 'aliyun', endpoint: await closedUrl(), timeoutMs: 500, log });
    const t0 = Date.now();
    expect(await refused.read()).toBeUndefined();
    expect(await refused.read()).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);

    const silent = await fake({ cloud: 'aws' });
    silent.silent = true; // e.g. the PUT answer dropped by the hop limit
    const hung = createMetadataSource({ provider: 'aws', endpoint: silent.url, timeoutMs: 200, log });
    const t1 = Date.now();
    expect(await hung.read()).toBeUndefined();
    expect(Date.now() - t1).toBeLessThan(1000);

    const unreachable = lines.filter((l) => l.msg === 'cloud metadata service unreachable');
    expect(unreachable.map((l) => [l.level, l.fields.provider])).toEqual([
      ['debug', 'aliyun'],
      ['debug', 'aws'],
    ]);
    expect(String(unreachable[1]?.fields.reason)).toContain('HttpPutResponseHopLimit');
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('does not go through an HTTP proxy from the environment', async () => {
    const f = await fake({ cloud: 'aws', publicIp: '198.51.100.20' });
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
    process.env.HTTP_PROXY = process.env.http_proxy = await closedUrl();
    try {
      const s = source({ provider: 'aws', endpoint: f.url, log: recorder().log });
      expect((await s.read())?.publicIp).toBe('198.51.100.20');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('refuses an endpoint that is not plain http and a TTL out of range', () => {
    const { log } = recorder();
    expect(() => createMetadataSource({ provider: 'aws', endpoint: 'https://169.254.169.254', log })).toThrow(/http:\/\//);
    expect(() => createMetadataSource({ provider: 'aws', tokenTtlSeconds: 21601, log })).toThrow(/1\.\.21600/);
  });
});
