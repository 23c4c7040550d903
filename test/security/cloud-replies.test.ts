// Issue 9 finding 5: what a cloud endpoint answers must not be reflected into text users see.
// Errors keep only the provider's error code and message fields (trimmed, control characters
// removed); anything else (an HTML page from a proxy, a metadata listing, a huge body, fields other
// than Code and Message) becomes a generic "unexpected reply" message. A hostile endpoint that is
// on the allow-list answers with a marker everywhere it can; the marker must never come back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createAliyunProvider } from '../../cloud/aliyun';
import { createAwsProvider } from '../../cloud/aws';
import { CloudError, type CloudTarget } from '../../cloud/types';
import { missing, withStack } from '../helpers/with-stack';
import { startTestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { ALIYUN_AK, ALIYUN_SECRET } from '../helpers/clouds';
import type { CloudAccountBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { AliyunFake, addGatewaySite } from '../fakes/aliyun';

const MARKER = 'LEAKED7F3A';

interface Reply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown): Reply => ({ status, contentType: 'application/json;charset=utf-8', body: JSON.stringify(body) });
const ec2Xml = (status: number, code: string, message: string, extra = ''): Reply => ({
  status,
  contentType: 'text/xml;charset=UTF-8',
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error></Errors><RequestID>${MARKER}</RequestID></Response>`,
});
const long = (filler: string) => `${filler.repeat(Math.ceil(400 / filler.length))}${MARKER}`;

/** An endpoint on the allow-list that answers every request with `reply`. */
class HostileEndpoint {
  reply: Reply = json(500, { Code: 'InternalError', Message: 'not set' });
  hits = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<HostileEndpoint> {
    const server = http.createServer();
    const h = new HostileEndpoint(server);
    server.on('request', (req, res) => {
      h.hits += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(h.reply.status, { 'content-type': h.reply.contentType, 'x-amzn-requestid': `${MARKER} <b>`, ...h.reply.headers });
        res.end(h.reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return h;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Nothing of the body beyond code and message, no control characters, a bounded length. */
function expectClean(err: unknown): CloudError {
  expect(err).toBeInstanceOf(CloudError);
  const e = err as CloudError;
  expect(e.message).not.toContain(MARKER);
  expect(e.providerCode ?? '').not.toContain(MARKER);
  expect(e.message).not.toMatch(/\p{Cc}/u);
  expect(e.message.length).toBeLessThan(420);
  return e;
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
}

const aliyunCases: Array<[string, Reply, RegExp]> = [
  ['an HTML error page from a proxy', { status: 502, contentType: 'text/html', body: `<html><body><h1>502</h1>${MARKER}</body></html>` }, /unexpected reply/],
  ['an HTML page with 200 (a captive portal)', { status: 200, contentType: 'text/html', body: `${MARKER}<html></html>` }, /unexpected reply/],
  ['a metadata listing', { status: 200, contentType: 'text/plain', body: `${MARKER}\nami-id\nhostname\ninstance-id\n` }, /unexpected reply/],
  ['a huge non-JSON body', { status: 400, contentType: 'text/plain', body: MARKER.repeat(200_000) }, /unexpected reply/],
  ['JSON that is not an object', json(400, [MARKER]), /unexpected reply.*HTTP 400/],
  ['JSON without a Code', json(403, { error: MARKER, detail: MARKER }), /unexpected reply.*HTTP 403/],
  ['a Code that is not an error code', json(400, { Code: `Bad Code ${MARKER}`, Message: MARKER }), /unexpected reply.*HTTP 400/],
  [
    'fields other than Code and Message',
    json(400, { Code: 'InvalidParameter', Message: 'The parameter is invalid.', Recommend: MARKER, HostId: MARKER, Description: MARKER, AccessDeniedDetail: { PolicyType: MARKER }, RequestId: MARKER }),
    /^aliyun DescribeInstances: InvalidParameter: The parameter is invalid\.$/,
  ],
  ['a Message beyond 300 characters', json(400, { Code: 'InvalidParameter', Message: long('The parameter is invalid. ') }), /^aliyun DescribeInstances: InvalidParameter: The parameter is invalid\./],
  ['a huge Message', json(500, { Code: 'InternalError', Message: long('y'.repeat(1_000_000)) }), /InternalError: y+…$/],
  ['control characters in the Message', json(400, { Code: 'InvalidParameter', Message: '\u001b[2J\u001b[31mred\r\nforged line\u0000\u0085' }), /InvalidParameter: \[2J\[31mred forged line$/],
  [
    'an XML error document',
    { status: 400, contentType: 'text/xml;charset=utf-8', body: `<?xml version="1.0"?><Error><Code>InvalidParameter</Code><Message>${long('z')}</Message><HostId>${MARKER}</HostId></Error>` },
    /InvalidParameter: z+…$/,
  ],
  ['a broken XML error document', { status: 400, contentType: 'text/xml;charset=utf-8', body: `${MARKER}<Error><Code>X</Code>` }, /unexpected reply/],
];

const awsCases: Array<[string, Reply, RegExp]> = [
  ['an HTML error page from a proxy', { status: 502, contentType: 'text/html', body: `<html><body>${MARKER}</body></html>` }, /unexpected reply.*HTTP 502/],
  ['a non-XML 200 (a captive portal)', { status: 200, contentType: 'text/xml', body: `not xml ${MARKER}` }, /unexpected reply.*HTTP 200/],
  ['a huge non-XML body', { status: 400, contentType: 'text/plain', body: MARKER.repeat(200_000) }, /unexpected reply.*HTTP 400/],
  ['a Code that is not an error code', ec2Xml(400, `Bad Code ${MARKER}`, MARKER), /unexpected reply.*HTTP 400/],
  ['fields other than Code and Message, and a request id header that is no request id', ec2Xml(400, 'InvalidParameterValue', 'Value is invalid.', `<Extra>${MARKER}</Extra>`), /^EC2 DescribeRouteTables: InvalidParameterValue: Value is invalid\.$/],
  ['a Message beyond 300 characters', ec2Xml(400, 'InvalidParameterValue', long('Value is invalid. ')), /^EC2 DescribeRouteTables: InvalidParameterValue: Value is invalid\./],
  ['control characters in the Message', ec2Xml(400, 'InvalidParameterValue', 'bad&#x1b;[31m value&#x7;'), /InvalidParameterValue: bad\[31m value$/],
];

describe('provider errors keep only the code and message fields', () => {
  let hostile: HostileEndpoint;
  beforeAll(async () => {
    hostile = await HostileEndpoint.start();
  });
  afterAll(async () => {
    await hostile?.stop();
  });
  afterEach(() => {
    hostile.hits = 0;
  });

  const keys = { accessKeyId: 'AKIDREPLY', accessKeySecret: 'reply-secret' };

  it.each(aliyunCases)('aliyun: %s', async (_what, reply, expected) => {
    hostile.reply = reply;
    const target: CloudTarget = { provider: 'aliyun', region: 'cn-hangzhou', credentials: keys, endpoints: { vpc: hostile.url, ecs: hostile.url } };
    const e = expectClean(await failureOf(createAliyunProvider(target, { readTimeoutMs: 5_000 }).discover('198.51.100.1')));
    expect(e.message).toMatch(expected);
    expect(hostile.hits).toBeGreaterThan(0);
  });

  it.each(awsCases)('aws: %s', async (_what, reply, expected) => {
    hostile.reply = reply;
    const target: CloudTarget = { provider: 'aws', region: 'eu-west-1', credentials: keys, endpoints: { ec2: hostile.url } };
    const route = { routeTableId: 'rtb-0123456789abcdef0', destinationCidr: '192.168.10.0/24' };
    const e = expectClean(await failureOf(createAwsProvider(target).getRoute(route)));
    expect(e.message).toMatch(expected);
    expect(hostile.hits).toBe(1);
  });
});

const needs = { controller: true, name: 'replies' } as const;

describe.skipIf(missing(needs, 'cloud reply tests'))('through the controller: stateReason, API responses and link events', () => {
  const s = withStack(needs);
  let aliyun: AliyunFake;
  let hostile: HostileEndpoint;
  const accounts = { hostileAliyun: '', hostileAws: '', aliyun: '' };
  const ipsec = new FakeIpsecNetwork();

  beforeAll(async () => {
    [aliyun, hostile] = (await Promise.all([AliyunFake.start({ accessKeys: { [ALIYUN_AK]: ALIYUN_SECRET }, asyncDelayMs: 50 }), HostileEndpoint.start()])).map((x) => s.track(x)) as [AliyunFake, HostileEndpoint];
    const add = async (name: string, provider: 'aliyun' | 'aws', endpoints: Record<string, string>) => {
      const r = await s.api<CloudAccountBody>('POST', '/api/cloud-accounts', { name, provider, credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET }, endpoints });
      expect(r.status).toBe(201);
      return r.body.id;
    };
    accounts.hostileAliyun = await add('hostile-aliyun', 'aliyun', { vpc: hostile.url, ecs: hostile.url });
    accounts.hostileAws = await add('hostile-aws', 'aws', { ec2: hostile.url });
    accounts.aliyun = await add('fake-aliyun', 'aliyun', { vpc: aliyun.url, ecs: aliyun.url });
  });

  const get = async (id: string) => (await s.api<GatewayBody>('GET', `/api/gateways/${id}`)).body;

  /** Everything the API shows about gateways and links, as one string. */
  async function everythingShown(): Promise<string> {
    const parts = await Promise.all(['/api/gateways', '/api/links', '/api/cloud-accounts'].map(async (p) => JSON.stringify((await s.api('GET', p)).body)));
    return parts.join('\n');
  }

  // Replies that fail discovery for good (a retryable one would keep it discovering).
  const permanent: Array<[string, 'aliyun' | 'aws', Reply, RegExp]> = [
    ['a Message beyond 300 characters', 'aliyun', json(400, { Code: 'InvalidParameter', Message: long('The parameter is invalid. '), Recommend: MARKER }), /InvalidParameter/],
    ['a Code that is not an error code', 'aliyun', json(400, { Code: `Bad Code ${MARKER}`, Message: MARKER }), /unexpected reply.*HTTP 400/],
    ['JSON without a Code', 'aliyun', json(403, { error: MARKER }), /unexpected reply.*HTTP 403/],
    ['a Message beyond 300 characters', 'aws', ec2Xml(400, 'InvalidParameterValue', long('Value is invalid. ')), /InvalidParameterValue/],
    ['a Code that is not an error code', 'aws', ec2Xml(400, `Bad Code ${MARKER}`, MARKER), /unexpected reply.*HTTP 400/],
    ['an HTML page with 403', 'aws', { status: 403, contentType: 'text/html', body: `<html>${MARKER}</html>` }, /unexpected reply.*HTTP 403/],
  ];

  it.each(permanent)('discovery against %s (%s): the reason keeps the code, never the body', async (_what, provider, reply, expected) => {
    hostile.reply = reply;
    const account = provider === 'aliyun' ? accounts.hostileAliyun : accounts.hostileAws;
    const r = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `h-${randomBytes(3).toString('hex')}`, provider, region: provider === 'aws' ? 'eu-west-1' : 'cn-hangzhou', publicIp: '198.51.100.70', account });
    expect(r.status).toBe(201);
    await expect.poll(async () => (await get(r.body.id)).state, { timeout: 20_000 }).toBe('failed');
    const g = await get(r.body.id);
    expect(g.stateReason).toMatch(expected);
    expect(g.stateReason).not.toContain(MARKER);
    expect(g.stateReason!.length).toBeLessThan(600);
    expect(await everythingShown()).not.toContain(MARKER);
  });

  it('a refused route write: the link fails with the provider code, and its events and state never carry the body', async () => {
    addGatewaySite(aliyun, 71, { eip: '203.0.113.171' });
    const created = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'ali-replies', provider: 'aliyun', region: 'cn-hangzhou', publicIp: '203.0.113.171', account: accounts.aliyun });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await get(created.body.id)).state, { timeout: 20_000 }).toBe('ready');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-replies', provider: 'onprem', cidrs: ['192.168.171.0/24'] })).body;
    for (const [g, ip] of [[created.body, '203.0.113.171'], [dc, '198.51.100.171']] as const) {
      s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: g.id, secret: g.agentSecret, driver: ipsec.driver(ip), publicIp: ip }));
      await expect.poll(async () => (await s.api<GatewayBody>('GET', `/api/gateways/${g.id}`)).body.online, { timeout: 10_000 }).toBe(true);
    }
    const message = long('You have reached the route entry quota. ');
    aliyun.injectFault({ api: 'CreateRouteEntry', code: 'QuotaExceeded', message, times: Infinity });
    aliyun.injectFault({ api: 'CreateRouteEntries', code: 'QuotaExceeded', message, times: Infinity });
    try {
      const r = await s.api<LinkBody>('POST', '/api/links', { a: created.body.id, b: dc.id });
      expect(r.status).toBe(202);
      await expect.poll(async () => (await s.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 30_000 }).toBe('failed');
      const link = (await s.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body;
      expect(link.stateReason).toContain('QuotaExceeded');
      expect(link.events.find((e) => e.type === 'link.failed')?.message).toContain('QuotaExceeded');
      expect(JSON.stringify(link)).not.toContain(MARKER);
      expect(await everythingShown()).not.toContain(MARKER);
      const events = await s.ctl.db.linkEvent.findMany({ where: { linkId: r.body.id } });
      expect(JSON.stringify(events)).not.toContain(MARKER);
    } finally {
      aliyun.clearFaults();
    }
  });
});
