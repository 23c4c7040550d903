// Issue 9 finding 5: which cloud endpoint overrides the controller accepts. The providers' own
// domains over https are built in, the controller's CLOUD_ENDPOINT_ALLOW extends them, and a URL
// that carries user info, a path, a query or a fragment, or names a metadata address never passes.
// Pure functions: every known trick is checked without a network.
import { describe, expect, it } from 'vitest';
import { AllowListError, BUILTIN_ENDPOINT_ALLOW, endpointPolicy } from '../../cloud/endpoint-policy';

const TEST_ALLOW = ['http://127.0.0.1:*'];

function allowed(value: string, extra: string[] = TEST_ALLOW): string {
  const r = endpointPolicy(extra).check(value);
  if (!r.ok) throw new Error(`expected ${value} to be allowed, got: ${r.reason}`);
  return r.endpoint;
}

function refused(value: string, extra: string[] = TEST_ALLOW): string {
  const r = endpointPolicy(extra).check(value);
  if (r.ok) throw new Error(`expected ${value} to be refused, got ${r.endpoint}`);
  return r.reason;
}

describe('built-in provider domains (https, default port)', () => {
  it('lists exactly the providers\' own domains', () => {
    expect(BUILTIN_ENDPOINT_ALLOW).toEqual(['*.aliyuncs.com', '*.amazonaws.com', '*.amazonaws.com.cn', '*.api.aws']);
  });

  it.each([
    ['https://vpc.cn-hangzhou.aliyuncs.com', 'https://vpc.cn-hangzhou.aliyuncs.com'],
    ['https://vpc-vpc.cn-hangzhou.aliyuncs.com/', 'https://vpc-vpc.cn-hangzhou.aliyuncs.com'],
    ['https://ec2.eu-west-1.amazonaws.com', 'https://ec2.eu-west-1.amazonaws.com'],
    ['https://vpce-0abc-xyz.ec2.eu-west-1.vpce.amazonaws.com', 'https://vpce-0abc-xyz.ec2.eu-west-1.vpce.amazonaws.com'],
    ['https://ec2.cn-north-1.amazonaws.com.cn', 'https://ec2.cn-north-1.amazonaws.com.cn'],
    ['https://ec2.us-east-1.api.aws', 'https://ec2.us-east-1.api.aws'],
    // Normalised the way the WHATWG parser sees it: lower case, default port dropped, trailing dot stripped.
    ['https://VPC.CN-Hangzhou.AliyunCS.com.:443/', 'https://vpc.cn-hangzhou.aliyuncs.com'],
    // IDNA: what is checked is the ASCII name the connection will use.
    ['https://例.aliyuncs.com', 'https://xn--fsq.aliyuncs.com'],
    ['https://ｖｐｃ.cn-hangzhou.aliyuncs.com', 'https://vpc.cn-hangzhou.aliyuncs.com'],
  ])('%s', (value, endpoint) => {
    expect(allowed(value, [])).toBe(endpoint);
  });

  it.each([
    'https://aliyuncs.com', // *. matches subdomains, not the domain itself
    'https://amazonaws.com',
    'https://evilaliyuncs.com',
    'https://aliyuncs.com.evil.example',
    'https://vpc.aliyuncs.com.evil.example',
    'https://vpc.aliyuncs.com。evil.example', // an ideographic full stop is a dot after IDNA
    'https://evil.example',
  ])('refuses a host outside them: %s', (value) => {
    expect(refused(value, [])).toMatch(/not on the allow-list/);
  });

  it('needs https and the default port', () => {
    expect(refused('http://vpc.cn-hangzhou.aliyuncs.com', [])).toMatch(/https/);
    expect(refused('https://vpc.cn-hangzhou.aliyuncs.com:8443', [])).toMatch(/not on the allow-list/);
  });
});

describe('URL shapes that are always refused', () => {
  it.each([
    ['https://user:pw@vpc.cn-hangzhou.aliyuncs.com', /user info/],
    ['https://vpc.cn-hangzhou.aliyuncs.com@evil.example', /user info/],
    ['https://evil.example#@vpc.cn-hangzhou.aliyuncs.com', /fragment|user info/],
    ['https://evil.example\\@vpc.cn-hangzhou.aliyuncs.com', /backslash|user info/],
    ['https://evil.example?.aliyuncs.com', /query/],
    ['https://vpc.cn-hangzhou.aliyuncs.com/latest/meta-data', /path/],
    ['https://vpc.cn-hangzhou.aliyuncs.com/?Action=x', /query/],
    ['https://vpc.cn-hangzhou.aliyuncs.com#x', /fragment/],
    ['ftp://vpc.cn-hangzhou.aliyuncs.com', /http/],
    ['file:///etc/passwd', /http/],
    ['javascript:alert(1)', /http/],
    ['vpc.cn-hangzhou.aliyuncs.com', /URL/],
    [' https://vpc.cn-hangzhou.aliyuncs.com', /white space|control/],
    ['https://vpc.cn-hangzhou.aliyun\tcs.com', /white space|control/],
    ['', /URL/],
  ])('%j', (value, why) => {
    expect(refused(value)).toMatch(why);
  });

  it('never echoes the user info it refuses', () => {
    const reason = refused('https://AKIDSECRET:hunter2@vpc.cn-hangzhou.aliyuncs.com');
    expect(reason).not.toContain('hunter2');
    expect(reason).not.toContain('AKIDSECRET');
  });

  it.each([
    'http://169.254.169.254',
    'http://169.254.169.254:80/',
    'http://169.254.170.2', // ECS task metadata
    'http://2852039166', // 169.254.169.254 as one number
    'http://0xa9.0xfe.0xa9.0xfe',
    'http://169.254.169.254.',
    'http://[::ffff:169.254.169.254]',
    'http://[fd00:ec2::254]',
    'http://[fd00:ec2:0::254]',
    'http://[fe80::1]',
    'http://100.100.100.200', // Alibaba Cloud's metadata service
    'https://100.100.100.200',
  ])('a metadata or link-local address, whatever the allow-list says: %s', (value) => {
    expect(refused(value, ['http://127.0.0.1:*', '*.internal.example:*', 'http://*.internal.example:*'])).toMatch(/metadata|link-local/);
  });
});

describe('CLOUD_ENDPOINT_ALLOW entries', () => {
  it('extend the built-ins rather than replace them', () => {
    expect(allowed('https://vpc.cn-hangzhou.aliyuncs.com')).toBe('https://vpc.cn-hangzhou.aliyuncs.com');
    expect(allowed('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
  });

  it('http://127.0.0.1:* allows exactly that address over http, on any port', () => {
    expect(allowed('http://127.0.0.1:41234/')).toBe('http://127.0.0.1:41234');
    expect(allowed('http://127.0.0.1')).toBe('http://127.0.0.1');
    expect(refused('https://127.0.0.1:9000')).toMatch(/not on the allow-list/);
    expect(refused('http://127.0.0.2:9000')).toMatch(/not on the allow-list/);
    expect(refused('http://localhost:9000')).toMatch(/not on the allow-list/);
    // Names that resolve to an allowed address are not that address.
    expect(refused('http://127.0.0.1.nip.io:9000')).toMatch(/not on the allow-list/);
    expect(refused('http://127.0.0.1.evil.example:9000')).toMatch(/not on the allow-list/);
    expect(refused('http://[::1]:9000')).toMatch(/not on the allow-list/);
  });

  it('a bare entry means https on the default port only', () => {
    const extra = ['vpc.internal.example'];
    expect(allowed('https://vpc.internal.example', extra)).toBe('https://vpc.internal.example');
    expect(allowed('https://VPC.internal.example.:443', extra)).toBe('https://vpc.internal.example');
    expect(refused('https://vpc.internal.example:8443', extra)).toMatch(/not on the allow-list/);
    expect(refused('http://vpc.internal.example', extra)).toMatch(/https/);
    expect(refused('https://a.vpc.internal.example', extra)).toMatch(/not on the allow-list/);
  });

  it('*.domain matches subdomains at any depth, not the domain; ports as given', () => {
    const extra = ['https://*.Internal.Example:8443', '*.any-port.example:*'];
    expect(allowed('https://a.internal.example:8443', extra)).toBe('https://a.internal.example:8443');
    expect(allowed('https://a.b.c.internal.example:8443', extra)).toBe('https://a.b.c.internal.example:8443');
    expect(refused('https://internal.example:8443', extra)).toMatch(/not on the allow-list/);
    expect(refused('https://a.internal.example', extra)).toMatch(/not on the allow-list/);
    expect(refused('https://a.internal.example:9443', extra)).toMatch(/not on the allow-list/);
    expect(allowed('https://x.any-port.example:1', extra)).toBe('https://x.any-port.example:1');
    expect(allowed('https://x.any-port.example', extra)).toBe('https://x.any-port.example');
  });

  it('IP entries, IPv6 in brackets', () => {
    const extra = ['https://10.0.0.5:8443', 'https://[fd00::5]'];
    expect(allowed('https://10.0.0.5:8443', extra)).toBe('https://10.0.0.5:8443');
    expect(refused('https://10.0.0.50:8443', extra)).toMatch(/not on the allow-list/);
    expect(allowed('https://[FD00:0::5]', extra)).toBe('https://[fd00::5]');
  });

  it.each([
    '',
    '*',
    '*.com', // a whole top-level domain
    '*.*.example',
    'a.*.example',
    'https://',
    'ftp://host.example',
    'host.example/path',
    'user@host.example',
    'host.example?x',
    'host.example:99999',
    'host.example:abc',
    'http://*.127.0.0.1',
    'http://169.254.169.254',
    'http://[fd00:ec2::254]',
    '100.100.100.200',
    'http://[::ffff:a9fe:a9fe]',
  ])('refuses the entry %j at start, naming the setting', (entry) => {
    expect(() => endpointPolicy([entry])).toThrow(AllowListError);
    expect(() => endpointPolicy([entry])).toThrow(/CLOUD_ENDPOINT_ALLOW/);
  });
});
