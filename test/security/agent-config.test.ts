// Issue 9, items 1, 2 and 5 at start: the agent's security settings are read once and refused
// early (exit code 2, naming the variable and the fix): a cleartext controller URL off loopback
// without ALLOW_INSECURE_CONTROLLER=1, an unreadable CONTROLLER_CA, a malformed CONTROLLER_PIN, no
// way to authenticate. When cleartext is allowed, every connect warns about it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAgentConfig } from '../../agent/config';
import { ConfigError } from '../../lib/env';
import { hashSecret } from '../../lib/crypto';
import { asGatewayId } from '../../protocol/ids';
import { createSqliteTestDb } from '../helpers/db';
import { makeTestPki, type TestPki } from '../helpers/tls';
import { recordingLogger, startAgentHub, startConnectProxy, startTestAgent, removeDir } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';

const SECRET = 'a'.repeat(43);
const TOKEN = 'T0k-'.padEnd(43, 'x');
const ok = { CONTROLLER_URL: 'https://ctl.example.com', GATEWAY_ID: 'gwabc', GATEWAY_SECRET: SECRET };
let pki: TestPki;
let scratch: string;

beforeAll(async () => {
  pki = await makeTestPki();
  scratch = await mkdtemp(path.join(tmpdir(), 'agent-config-'));
});

afterAll(async () => {
  await pki?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadAgentConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('cleartext controller URLs (item 2)', () => {
  it.each(['ws://ctl.example.com', 'http://ctl.example.com:8080', 'http://198.51.100.7', 'https://a.example.com,ws://b.example.com', 'ws://[2001:db8::1]:80'])(
    'refuses %s off loopback, naming CONTROLLER_URL and the fix',
    (url) => {
      const message = configError({ ...ok, CONTROLLER_URL: url });
      expect(message).toMatch(/CONTROLLER_URL: .*(cleartext|not encrypted)/);
      expect(message).toContain('https://');
      expect(message).toContain('ALLOW_INSECURE_CONTROLLER=1');
    },
  );

  it.each(['ws://127.0.0.1:8080', 'http://localhost:8080', 'ws://[::1]:8080', 'https://ctl.example.com', 'wss://ctl.example.com'])('accepts %s', (url) => {
    expect(loadAgentConfig({ ...ok, CONTROLLER_URL: url }).controllerUrls).toEqual([url]);
  });

  it('accepts cleartext off loopback only with ALLOW_INSECURE_CONTROLLER=1 (or true), strictly parsed', () => {
    expect(loadAgentConfig({ ...ok, CONTROLLER_URL: 'ws://ctl.example.com', ALLOW_INSECURE_CONTROLLER: '1' }).controllerUrls).toEqual(['ws://ctl.example.com']);
    expect(loadAgentConfig({ ...ok, CONTROLLER_URL: 'ws://ctl.example.com', ALLOW_INSECURE_CONTROLLER: 'true' }).allowInsecure).toBe(true);
    expect(configError({ ...ok, CONTROLLER_URL: 'ws://ctl.example.com', ALLOW_INSECURE_CONTROLLER: '0' })).toContain('CONTROLLER_URL');
    expect(configError({ ...ok, CONTROLLER_URL: 'ws://ctl.example.com', ALLOW_INSECURE_CONTROLLER: 'yes' })).toContain('ALLOW_INSECURE_CONTROLLER: expected true, false, 1 or 0');
    // A URL that does not parse is reported as such, not as cleartext (nor as a crash).
    expect(configError({ ...ok, CONTROLLER_URL: 'ctl.example.com' })).toContain('CONTROLLER_URL: expected a URL');
  });
});

describe('CONTROLLER_CA and CONTROLLER_PIN (item 1)', () => {
  it('reads the CA bundle once, at start, and refuses a missing or non-PEM file', async () => {
    const c = loadAgentConfig({ ...ok, CONTROLLER_CA: pki.ca.certFile });
    expect(c.tls.ca).toBe(pki.ca.cert);
    expect(c.tls.pins).toEqual([]);
    expect(loadAgentConfig(ok).tls.ca).toBeUndefined(); // the system CAs
    expect(configError({ ...ok, CONTROLLER_CA: path.join(scratch, 'missing.pem') })).toMatch(/CONTROLLER_CA: .*missing\.pem/);
    const junk = path.join(scratch, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    expect(configError({ ...ok, CONTROLLER_CA: junk })).toMatch(/CONTROLLER_CA: .*PEM/);
    const broken = path.join(scratch, 'broken.pem');
    await writeFile(broken, `${pki.ca.cert}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    expect(configError({ ...ok, CONTROLLER_CA: broken })).toMatch(/CONTROLLER_CA: /);
  });

  it('parses comma-separated sha256/<base64> pins and refuses anything else', () => {
    const a = `sha256/${Buffer.alloc(32, 1).toString('base64')}`;
    const b = `sha256/${Buffer.alloc(32, 2).toString('base64')}`;
    expect(loadAgentConfig({ ...ok, CONTROLLER_PIN: `${a}, ${b}` }).tls.pins).toEqual([a, b]);
    for (const bad of ['abc', `sha1/${Buffer.alloc(20).toString('base64')}`, `sha256/${Buffer.alloc(31).toString('base64')}`, `${a},sha256/!!`]) {
      expect(configError({ ...ok, CONTROLLER_PIN: bad })).toMatch(/CONTROLLER_PIN: expected .*sha256\//);
    }
  });
});

describe('credentials (item 5)', () => {
  it('takes an ENROLMENT_TOKEN instead of GATEWAY_SECRET, and never echoes either', () => {
    const { GATEWAY_SECRET: _unused, ...noSecret } = ok;
    const c = loadAgentConfig({ ...noSecret, ENROLMENT_TOKEN: TOKEN });
    expect(c.secret).toBeUndefined();
    expect(c.enrolmentToken).toBe(TOKEN);
    expect(loadAgentConfig(noSecret).secret).toBeUndefined(); // credentials.json may hold it: checked at start
    const message = configError({ ...noSecret, ENROLMENT_TOKEN: `${TOKEN}!` });
    expect(message).toContain('ENROLMENT_TOKEN');
    expect(message).not.toContain(TOKEN);
  });
});

/** Runs the real agent entry point with only the given environment. */
function runAgentMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'agent/main.ts'], { cwd: path.resolve(__dirname, '../..'), env: { PATH: process.env.PATH ?? '', CLOUD_METADATA: 'none', VICI_SOCKET: path.join(scratch, 'no-charon.vici'), ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('agent entry point', () => {
  it('exits 2 with the fix for a cleartext controller off loopback', async () => {
    const r = await runAgentMain({ CONTROLLER_URL: 'ws://ctl.example.com', GATEWAY_ID: 'gwabc', GATEWAY_SECRET: SECRET, STATE_DIR: path.join(scratch, 'main-1') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONTROLLER_URL');
    expect(r.stderr).toContain('ALLOW_INSECURE_CONTROLLER=1');
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });

  it('exits 2 when there is no secret, no credentials.json for the gateway, and no enrolment token', async () => {
    const stateDir = path.join(scratch, 'main-2');
    const r = await runAgentMain({ CONTROLLER_URL: 'https://127.0.0.1:1', GATEWAY_ID: 'gwabc', STATE_DIR: stateDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GATEWAY_SECRET/);
    expect(r.stderr).toMatch(/ENROLMENT_TOKEN/);
    expect(r.stderr).toMatch(/credentials\.json/);
  });
});

describe('cleartext warning (item 2)', () => {
  it('warns at every connect when a cleartext controller off loopback is allowed', async () => {
    const { db, cleanup } = await createSqliteTestDb();
    await db.gateway.create({ data: { id: 'gw-clear', name: 'clear', provider: 'onprem', cidrs: '["10.1.0.0/24"]', secretHash: hashSecret(SECRET) } });
    const hub = await startAgentHub(db);
    // Reached by a name that is not loopback, through a proxy that knows where it lives here.
    const proxy = await startConnectProxy({ hosts: { 'controller.test': '127.0.0.1' } });
    const rec = recordingLogger();
    const a = await startTestAgent({
      controllerUrl: `http://controller.test:${hub.port}`, gatewayId: 'gw-clear', secret: SECRET, driver: new FakeIpsecNetwork().driver('198.51.100.9'),
      proxy: { http: proxy.url }, log: rec.log, backoff: { minMs: 50, maxMs: 100 },
    });
    try {
      const warnings = () => rec.records.filter((r) => r.level === 'warn' && /cleartext/i.test(r.msg));
      await expect.poll(() => hub.hub.isConnected(asGatewayId('gw-clear')), { timeout: 5000 }).toBe(true);
      expect(warnings()).toHaveLength(1);
      expect(String(warnings()[0]!.fields.url)).toContain('controller.test');
      proxy.cutTunnels();
      await expect.poll(() => proxy.tunnels.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      await expect.poll(() => hub.hub.isConnected(asGatewayId('gw-clear')), { timeout: 5000 }).toBe(true);
      expect(warnings().length).toBeGreaterThanOrEqual(2);
      // A loopback controller in cleartext (a sidecar terminating TLS) is not warned about.
      expect(rec.records.filter((r) => /cleartext/i.test(r.msg) && String(r.fields.url).includes('127.0.0.1'))).toEqual([]);
    } finally {
      await a.stop();
      await removeDir(a.stateDir);
      await proxy.stop();
      await hub.stop();
      await cleanup();
    }
  });
});
