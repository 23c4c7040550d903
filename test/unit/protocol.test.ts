import { describe, expect, it } from 'vitest';
import { AgentFrame, HubFrame, Methods, ProtocolError, authHeader, parseAuthHeader, parseFrame } from '../../protocol/messages';
import { connName, linkIdFromConn, asLinkId } from '../../protocol/ids';

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
