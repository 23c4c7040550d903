import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Backoff } from '../../agent/backoff';
import { boundedCode, boundedFacts, boundedText, reportableAddrs } from '../../agent/facts';
import { Facts } from '../../protocol/messages';
import { connectionPath } from '../../agent/session';
import { RetryLaterError, retryDelay, retryLaterFor } from '../../agent/retry';
import { proxyFor } from '../../agent/proxy';
import { agentEndpoint, enrolEndpoint } from '../../agent/endpoints';
import { StateStore } from '../../agent/state';

describe('backoff', () => {
  it('grows exponentially up to the cap and resets', () => {
    const top = new Backoff(100, 1000, () => 1);
    expect([top.next(), top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    top.reset();
    expect(top.next()).toBe(100);
  });

  it('jitters between half the minimum and the current cap', () => {
    const low = new Backoff(100, 1000, () => 0);
    expect([low.next(), low.next(), low.next()]).toEqual([50, 50, 50]);
  });

  it('waits max(Retry-After, backoff) after a 429/503, capped at the maximum', () => {
    const low = new Backoff(100, 1000, () => 0);
    expect(retryDelay(new RetryLaterError('busy', 700), low, 1000)).toBe(700);
    expect(retryDelay(new RetryLaterError('busy', 3_600_000), low, 1000)).toBe(1000);
    expect(retryDelay(new RetryLaterError('busy'), low, 1000)).toBe(50);
    expect(retryDelay(new Error('refused'), new Backoff(100, 1000, () => 1), 1000)).toBe(100);
    expect(retryLaterFor(429, '3', 'x')?.retryAfterMs).toBe(3000);
    expect(retryLaterFor(503, undefined, 'x')?.retryAfterMs).toBeUndefined();
    expect(retryLaterFor(500, '3', 'x')).toBeUndefined();
  });
});

describe('proxy selection', () => {
  const env = { https: 'http://proxy:3128', noProxy: 'internal.example.com,.corp,10.0.0.1:8080' };
  it('uses HTTPS_PROXY for wss and honours NO_PROXY', () => {
    expect(proxyFor(new URL('wss://ctl.example.com/agent'), env)).toBe('http://proxy:3128');
    expect(proxyFor(new URL('wss://internal.example.com/agent'), env)).toBeUndefined();
    expect(proxyFor(new URL('wss://a.internal.example.com/agent'), env)).toBeUndefined();
    expect(proxyFor(new URL('ws://x.corp/agent'), env)).toBeUndefined();
    expect(proxyFor(new URL('ws://10.0.0.1:8080/agent'), env)).toBeUndefined();
    expect(proxyFor(new URL('ws://10.0.0.1:9090/agent'), env)).toBe('http://proxy:3128');
    expect(proxyFor(new URL('ws://a/agent'), { http: 'http://p2:1' })).toBe('http://p2:1');
    expect(proxyFor(new URL('wss://a/agent'), { http: 'http://p2:1' })).toBeUndefined();
    expect(proxyFor(new URL('wss://a/agent'), { ...env, noProxy: '*' })).toBeUndefined();
  });

  it('derives the agent endpoint from http(s) or ws(s) base URLs', () => {
    expect(agentEndpoint('https://ctl.example.com/', '/agent').href).toBe('wss://ctl.example.com/agent');
    expect(agentEndpoint('http://127.0.0.1:8080', '/agent').href).toBe('ws://127.0.0.1:8080/agent');
    expect(agentEndpoint('wss://ctl/base', '/agent').href).toBe('wss://ctl/base/agent');
  });

  it('derives the enrolment endpoint (http(s), same host) from the same base URLs', () => {
    expect(enrolEndpoint('wss://ctl.example.com/').href).toBe('https://ctl.example.com/agent/enrol');
    expect(enrolEndpoint('ws://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/agent/enrol');
    expect(enrolEndpoint('https://ctl/base/').href).toBe('https://ctl/base/agent/enrol');
  });
});

describe('state store', () => {
  const link = { name: 'link-a', version: 1, localId: 'a', remoteId: 'b', localAddrs: ['%any'], remoteAddrs: ['1.2.3.4'], localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], initiator: true, psk: 'p'.repeat(40) };

  it('persists links atomically in a private file and reloads them', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'agent-state-'));
    const s = new StateStore(dir);
    await s.load();
    expect(s.links()).toEqual([]);
    await s.put(link);
    expect((await stat(path.join(dir, 'links.json'))).mode & 0o777).toBe(0o600);
    const again = new StateStore(dir);
    await again.load();
    expect(again.get('link-a')).toEqual(link);
    await again.delete('link-a');
    const third = new StateStore(dir);
    await third.load();
    expect(third.links()).toEqual([]);
  });

  it('refuses a corrupt file instead of silently starting empty', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'agent-state-'));
    await writeFile(path.join(dir, 'links.json'), JSON.stringify({ version: 1, links: { x: { name: 'x' } } }));
    await expect(new StateStore(dir).load()).rejects.toThrow('is not a valid agent state file');
    expect(await readFile(path.join(dir, 'links.json'), 'utf8')).toContain('"x"');
  });
});

describe('facts the agent reports fit the protocol (the hub closes the socket on anything else)', () => {
  it('drops link-local and odd addresses, caps the list, IPv4 first', () => {
    const many = Array.from({ length: 150 }, (_, i) => `172.${17 + Math.floor(i / 250)}.${i % 250}.1`);
    const addrs = reportableAddrs(['fe80::1', 'FE80::2', '169.254.1.1', 'fe80::1%eth0', '2001:db8::1', '10.0.0.1', ...many]);
    expect(addrs).not.toContain('fe80::1');
    expect(addrs).not.toContain('169.254.1.1');
    expect(addrs.length).toBe(64);
    expect(addrs[0]).toBe('10.0.0.1');
    expect(Facts.safeParse({ agentVersion: '0.1.0', localAddrs: addrs }).success).toBe(true);
  });

  it('fits hostnames, versions and cloud identities, or leaves them out', () => {
    const f = boundedFacts({
      agentVersion: '0.1.0',
      hostname: 'my host_with spaces/and\u0007bell',
      strongswanVersion: 'charon 5.9.8\n' + 'x'.repeat(200),
      localAddrs: ['10.0.0.1'],
      cloud: { provider: 'aws', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' },
    });
    expect(Facts.safeParse(f).success).toBe(true);
    expect(f.hostname).toBe('my-host_with-spaces-and-bell');
    expect(f.strongswanVersion!.length).toBeLessThanOrEqual(64);
    expect(f.cloud).toEqual({ provider: 'aws', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1' });
    const odd = boundedFacts({ agentVersion: '0.1.0', cloud: { provider: 'aliyun', instanceId: 'not an id', region: 'x' } });
    expect(odd.cloud).toBeUndefined();
    expect(Facts.safeParse(odd).success).toBe(true);
  });

  it('bounds error codes and messages, and tunnel reasons', () => {
    expect(boundedText('a\nb\u0000c', 10)).toBe('a b c');
    expect(boundedText('y'.repeat(5000), 1024).length).toBe(1024);
    expect(boundedCode('bad code/with spaces')).toBe('bad_code_with_spaces');
    expect(boundedCode('')).toBe('failed');
  });
});

describe('how the agent says it reaches the controller', () => {
  it('direct, or through which proxy (host and port only, never its credentials)', () => {
    const target = new URL('wss://controller.example.com:8081/agent');
    expect(connectionPath(target, {})).toEqual({ via: 'direct' });
    expect(connectionPath(target, { https: 'http://user:secret@proxy.corp:3128' })).toEqual({ via: 'proxy', proxy: 'proxy.corp:3128' });
    expect(connectionPath(target, { https: 'proxy.corp' })).toEqual({ via: 'proxy', proxy: 'proxy.corp:80' });
    expect(connectionPath(target, { https: 'http://[2001:db8::1]:8080' })).toEqual({ via: 'proxy', proxy: '[2001:db8::1]:8080' });
    // NO_PROXY exceptions are direct connections.
    expect(connectionPath(target, { https: 'http://proxy.corp:3128', noProxy: '.example.com' })).toEqual({ via: 'direct' });
    for (const path of [connectionPath(target, { https: 'http://user:secret@proxy.corp:3128' }), connectionPath(target, { https: 'http://[2001:db8::1]:8080' })]) {
      expect(Facts.safeParse({ agentVersion: '0.1.0', connection: path }).success).toBe(true);
    }
  });
});
