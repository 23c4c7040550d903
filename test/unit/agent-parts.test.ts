import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Backoff } from '../../agent/backoff';
import { agentEndpoint, proxyFor } from '../../agent/proxy';
import { StateStore } from '../../agent/state';
import { decrypt, encrypt, hashSecret, newSecretKey, parseSecretKey, secretMatches } from '../../lib/crypto';

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

describe('secrets', () => {
  it('encrypts with AES-GCM and detects tampering', () => {
    const key = parseSecretKey(newSecretKey());
    const c = encrypt(key, 'the psk');
    expect(c).not.toContain('the psk');
    expect(decrypt(key, c)).toBe('the psk');
    const raw = Buffer.from(c, 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => decrypt(key, raw.toString('base64'))).toThrow();
    expect(() => decrypt(parseSecretKey(newSecretKey()), c)).toThrow();
  });

  it('parses keys as hex or base64 of exactly 32 bytes', () => {
    expect(parseSecretKey('00'.repeat(32)).length).toBe(32);
    expect(() => parseSecretKey('abc')).toThrow('must be 32 bytes');
  });

  it('compares secret hashes', () => {
    const h = hashSecret('s3cret-s3cret-s3cret');
    expect(secretMatches('s3cret-s3cret-s3cret', h)).toBe(true);
    expect(secretMatches('s3cret-s3cret-s3creT', h)).toBe(false);
    expect(secretMatches('x', 'zz')).toBe(false);
  });
});
