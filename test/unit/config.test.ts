import { describe, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controller/config';
import { loadAgentConfig } from '../../agent/config';
import { ConfigError } from '../../lib/env';

describe('controller config', () => {
  it('has working embedded defaults', () => {
    const c = loadControllerConfig({});
    expect(c.ROLES).toEqual(['api', 'hub', 'worker']);
    expect(c.PORT).toBe(8080);
    expect(c.DATABASE_URL).toMatch(/^file:\/.*controller\.db$/);
    expect(c.TEMPORAL_ADDRESS).toBeUndefined();
    expect(c.HUB_INSTANCE_ID).toMatch(/^[A-Za-z0-9_.-]+$/);
    // Secure by default: both listeners on loopback, the agents on a port of their own.
    expect([c.HOST, c.AGENT_HOST, c.AGENT_PORT]).toEqual(['127.0.0.1', '127.0.0.1', 8081]);
    // Sealed payloads do not compress: no gzip unless asked for.
    expect(c.TEMPORAL_GRPC_COMPRESSION).toBe('none');
    expect(loadControllerConfig({ TEMPORAL_GRPC_COMPRESSION: 'gzip' }).TEMPORAL_GRPC_COMPRESSION).toBe('gzip');
  });

  it('opens the API to the network only with a token', () => {
    expect(loadControllerConfig({ HOST: '0.0.0.0', API_TOKEN: 't'.repeat(32) }).HOST).toBe('0.0.0.0');
    expect(loadControllerConfig({ HOST: '::1' }).HOST).toBe('::1');
    expect(loadControllerConfig({ HOST: 'localhost' }).HOST).toBe('localhost');
    // Agents may listen anywhere: they authenticate with their own secrets.
    expect(loadControllerConfig({ AGENT_HOST: '0.0.0.0' }).AGENT_HOST).toBe('0.0.0.0');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT: expected a whole number'],
    [{ PORT: '70000' }, 'PORT: expected at most 65535'],
    [{ ROLES: 'api,scheduler' }, 'ROLES: expected a comma-separated subset of api,hub,worker'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: expected file:<path> (SQLite) or postgresql://'],
    [{ TEMPORAL_ADDRESS: 'localhost' }, 'TEMPORAL_ADDRESS: expected host:port'],
    [{ LOG_PRETTY: 'yes' }, 'LOG_PRETTY: expected true, false, 1 or 0'],
    [{ TEMPORAL_UI_URL: 'ftp://x' }, 'TEMPORAL_UI_URL: expected a URL starting with http:// or https://'],
    [{ HOST: '0.0.0.0' }, 'API_TOKEN: required when the API listens on 0.0.0.0'],
    [{ HOST: '192.0.2.10' }, 'API_TOKEN: required when the API listens on 192.0.2.10'],
    [{ TLS_CERT: '/etc/cert.pem' }, 'TLS_CERT, TLS_KEY: give both'],
    [{ TEMPORAL_TLS_KEY: '/etc/k.pem' }, 'TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: give both'],
    [{ AGENT_PORT: '8080' }, 'AGENT_PORT: the agent listener needs a port of its own'],
    [{ CLOUD_ENDPOINT_ALLOW: 'http://169.254.169.254' }, 'CLOUD_ENDPOINT_ALLOW:'],
    [{ PSK_ROTATION_DAYS: '-1' }, 'PSK_ROTATION_DAYS: expected a whole number'],
    [{ TEMPORAL_GRPC_COMPRESSION: 'zstd' }, 'TEMPORAL_GRPC_COMPRESSION:'],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadControllerConfig(env)).toThrow(ConfigError);
    expect(() => loadControllerConfig(env)).toThrow(message);
  });

  it('names every bad variable at once and hides secret values', () => {
    try {
      loadControllerConfig({ PORT: 'x', API_TOKEN: 'short' });
      expect.unreachable();
    } catch (err) {
      const m = (err as Error).message;
      expect(m).toContain('PORT');
      expect(m).toContain('API_TOKEN: expected at least 16 characters (got "***")');
      expect(m).not.toContain('short');
    }
  });

  it('parses booleans strictly and roles as a list', () => {
    expect(loadControllerConfig({ LOG_PRETTY: '1', ROLES: 'hub, worker' })).toMatchObject({ LOG_PRETTY: true, ROLES: ['hub', 'worker'] });
    expect(loadControllerConfig({ LOG_PRETTY: 'false' }).LOG_PRETTY).toBe(false);
  });
});

describe('agent config', () => {
  const ok = { CONTROLLER_URL: 'https://ctl.example.com', GATEWAY_ID: 'gwabc', GATEWAY_SECRET: 'a'.repeat(43) };

  it('accepts a minimal config and several controller URLs', () => {
    expect(loadAgentConfig(ok).controllerUrls).toEqual(['https://ctl.example.com']);
    expect(loadAgentConfig({ ...ok, CONTROLLER_URL: 'https://a:8080, wss://b' }).controllerUrls).toEqual(['https://a:8080', 'wss://b']);
    expect(loadAgentConfig({ ...ok, https_proxy: 'http://proxy:3128' }).proxy.https).toBe('http://proxy:3128');
  });

  it.each([
    [{ ...ok, CONTROLLER_URL: 'ctl.example.com' }, 'CONTROLLER_URL'],
    [{ ...ok, GATEWAY_SECRET: 'short' }, 'GATEWAY_SECRET'],
    [{ ...ok, GATEWAY_ID: 'has space' }, 'GATEWAY_ID'],
    [{ ...ok, PUBLIC_IP: '1.2.3' }, 'PUBLIC_IP'],
    [{ GATEWAY_ID: 'gw' }, 'CONTROLLER_URL'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => loadAgentConfig(env)).toThrow(new RegExp(`^invalid configuration:[\\s\\S]*${name}:`));
  });
});
