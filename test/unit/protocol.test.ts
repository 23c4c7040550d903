import { describe, expect, it } from 'vitest';
import { AgentFrame, Facts, HubFrame, Methods, ProtocolError, RpcError, authHeader, parseAuthHeader, parseFrame } from '../../protocol/messages';
import { connName, isConnName, linkIdFromConn, asLinkId } from '../../protocol/ids';

const link = {
  name: 'link-lnabc',
  version: 1,
  localId: 'gw-a',
  remoteId: 'gw-b',
  localAddrs: ['%any'],
  remoteAddrs: ['198.51.100.2'],
  localTs: ['10.1.0.0/24'],
  remoteTs: ['10.2.0.0/24'],
  initiator: true,
  psk: 'x'.repeat(43),
};

describe('frames', () => {
  it('parses each agent frame kind', () => {
    expect(parseFrame(AgentFrame, JSON.stringify({ type: 'hello', protocol: 1, facts: { agentVersion: '1' } })).type).toBe('hello');
    expect(parseFrame(AgentFrame, JSON.stringify({ type: 'response', id: 'r1', ok: true, result: { changed: true } })).type).toBe('response');
    expect(parseFrame(AgentFrame, JSON.stringify({ type: 'response', id: 'r1', ok: false, error: { code: 'x', message: 'y' } })).type).toBe('response');
    expect(parseFrame(AgentFrame, JSON.stringify({ type: 'tunnel', name: 'link-x', up: true, at: new Date().toISOString() })).type).toBe('tunnel');
  });

  it('refuses bad JSON, unknown types and missing fields with a ProtocolError', () => {
    expect(() => parseFrame(AgentFrame, '{not json')).toThrow(new ProtocolError('frame is not valid JSON'));
    expect(() => parseFrame(AgentFrame, '{"type":"shutdown"}')).toThrow(ProtocolError);
    expect(() => parseFrame(AgentFrame, '{"type":"response","id":"1","ok":false}')).toThrow(/does not match the protocol/);
    expect(() => parseFrame(HubFrame, JSON.stringify({ type: 'request', id: '1', method: 'rm -rf', params: {} }))).toThrow(ProtocolError);
  });

  it('validates method params, including the link config', () => {
    expect(Methods.applyLink.params.safeParse({ link }).success).toBe(true);
    expect(Methods.applyLink.params.safeParse({ link: { ...link, name: 'bad name!' } }).success).toBe(false);
    expect(Methods.applyLink.params.safeParse({ link: { ...link, psk: 'short' } }).success).toBe(false);
    expect(Methods.applyLink.params.safeParse({ link: { ...link, localTs: [] } }).success).toBe(false);
    expect(Methods.initiate.params.safeParse({ name: 'x', timeoutMs: 120_000 }).success).toBe(false);
  });
});

describe('auth header and names', () => {
  it('round-trips and refuses malformed headers', () => {
    const secret = 'A'.repeat(43);
    expect(parseAuthHeader(authHeader('gw123', secret))).toEqual({ gatewayId: 'gw123', secret });
    expect(parseAuthHeader(undefined)).toBeUndefined();
    expect(parseAuthHeader('Basic abc')).toBeUndefined();
    expect(parseAuthHeader(`Bearer gw123:${'A'.repeat(5)}`)).toBeUndefined();
    expect(parseAuthHeader(`Bearer gw 1:${secret}`)).toBeUndefined();
  });

  it('maps link ids to connection names and back', () => {
    expect(connName(asLinkId('ln1'))).toBe('link-ln1');
    expect(linkIdFromConn('link-ln1')).toBe('ln1');
    expect(linkIdFromConn('site-to-site')).toBeUndefined();
    expect(linkIdFromConn('link-')).toBeUndefined();
  });
});

describe('what an agent reports is bounded and validated (issue 9, finding 3)', () => {
  const facts = (extra: Record<string, unknown>) => Facts.safeParse({ agentVersion: '0.1.0', ...extra }).success;
  const at = '2026-11-29T12:00:00.000Z';
  const tunnel = (extra: Record<string, unknown>) => AgentFrame.safeParse({ type: 'tunnel', name: 'link-lnabc', up: true, at, ...extra }).success;

  it('accepts what a real agent sends', () => {
    expect(facts({ hostname: 'vpn-1', publicIp: '203.0.113.9', localAddrs: ['10.0.0.5', 'fe80::1'], strongswanVersion: '5.9.8' })).toBe(true);
    expect(facts({ publicIp: '2001:db8::1', cidrs: ['10.0.0.0/8', '2001:db8::/32'] })).toBe(true);
    expect(facts({ cloud: { provider: 'aliyun', instanceId: 'i-bp1g6zv0ce8oghu7k0vx', region: 'cn-hangzhou' } })).toBe(true);
    expect(facts({ cloud: { provider: 'aws', instanceId: 'i-0123456789abcdef0', region: 'us-gov-west-1' } })).toBe(true);
    expect(tunnel({ up: false, reason: 'child-updown' })).toBe(true);
    expect(tunnel({ at: '2026-11-29T13:00:00+01:00' })).toBe(true);
  });

  it('refuses addresses, CIDRs and names that are not what they claim', () => {
    expect(facts({ publicIp: 'not-an-ip;$(reboot)' })).toBe(false);
    expect(facts({ publicIp: '203.0.113.256' })).toBe(false);
    expect(facts({ localAddrs: ['10.0.0.1', 'eth0'] })).toBe(false);
    expect(facts({ cidrs: ['10.0.0.0/33'] })).toBe(false);
    expect(facts({ cidrs: ['10.0.0.1/24'] })).toBe(false); // not a network address
    expect(facts({ cidrs: ['10.0.0.0/24 '] })).toBe(false);
    expect(facts({ hostname: 'a b' })).toBe(false);
    expect(facts({ hostname: 'x'.repeat(254) })).toBe(false);
    expect(facts({ agentVersion: '' })).toBe(false);
    expect(facts({ agentVersion: 'v\n1' })).toBe(false);
    expect(facts({ strongswanVersion: 's'.repeat(65) })).toBe(false);
    expect(facts({ cloud: { provider: 'aws', instanceId: 'i-ABC' } })).toBe(false);
    expect(facts({ cloud: { provider: 'aws', instanceId: `i-${'a'.repeat(41)}` } })).toBe(false);
    expect(facts({ cloud: { provider: 'aws', instanceId: 'i-abc', region: 'EU_CENTRAL' } })).toBe(false);
  });

  it('caps list lengths', () => {
    const addrs = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    expect(facts({ localAddrs: addrs(64) })).toBe(true);
    expect(facts({ localAddrs: addrs(65) })).toBe(false);
    const cidrs = (n: number) => Array.from({ length: n }, (_, i) => `10.${i}.0.0/16`);
    expect(facts({ cidrs: cidrs(64) })).toBe(true);
    expect(facts({ cidrs: cidrs(65) })).toBe(false);
  });

  it('bounds tunnel reports, RPC errors and results', () => {
    expect(tunnel({ reason: 'r'.repeat(256) })).toBe(true);
    expect(tunnel({ reason: 'r'.repeat(257) })).toBe(false);
    expect(tunnel({ name: 'site-a' })).toBe(false);
    expect(tunnel({ name: 'link-' })).toBe(false);
    expect(tunnel({ name: 'link-a/b' })).toBe(false);
    expect(tunnel({ at: 'now' })).toBe(false);
    expect(RpcError.safeParse({ code: 'c'.repeat(64), message: 'm'.repeat(1024) }).success).toBe(true);
    expect(RpcError.safeParse({ code: 'c'.repeat(65), message: 'm' }).success).toBe(false);
    expect(RpcError.safeParse({ code: 'c', message: 'm'.repeat(1025) }).success).toBe(false);
    const sa = { name: 'link-ln1', state: 'ESTABLISHED', children: [] };
    expect(Methods.status.result.safeParse({ sas: Array<typeof sa>(1000).fill(sa), links: [] }).success).toBe(true);
    expect(Methods.status.result.safeParse({ sas: Array<typeof sa>(1001).fill(sa), links: [] }).success).toBe(false);
    expect(Methods.status.result.safeParse({ sas: [{ ...sa, name: 'n'.repeat(10_000) }], links: [] }).success).toBe(false);
    expect(Methods.reconcile.result.safeParse({ removed: Array<string>(100_000).fill('link-x') }).success).toBe(false);
  });

  it('conn names follow the link pattern both ways', () => {
    expect(isConnName('link-lnabc234')).toBe(true);
    expect(isConnName('link-ln_1-2')).toBe(true);
    expect(isConnName(`link-${'a'.repeat(60)}`)).toBe(false);
    expect(linkIdFromConn('link-../x')).toBeUndefined();
  });
});
