// Agent configuration, read once at start and validated.
import { z } from 'zod';
import { envInt, envUrl, parseEnv } from '../lib/env';

const schema = z.object({
  /** One or more controller base URLs, comma-separated; the agent spreads over them and fails over. */
  CONTROLLER_URL: z
    .string()
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(envUrl(['http:', 'https:', 'ws:', 'wss:'])).min(1)),
  GATEWAY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected the gateway id printed when the gateway was registered' }),
  GATEWAY_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'expected the one-time agent secret printed when the gateway was registered' }),
  VICI_SOCKET: z.string().default('/var/run/charon.vici'),
  /** Where the last applied config is kept (it holds PSKs: the file is created 0600). */
  STATE_DIR: z.string().default('/var/lib/ipsec-agent'),
  /** Public address to report when the agent knows it (otherwise the hub's observed address is used). */
  PUBLIC_IP: z.ipv4().or(z.ipv6()).optional(),
  /** Which cloud's instance metadata service to ask for the public IP and instance identity. */
  CLOUD_METADATA: z.enum(['auto', 'aws', 'aliyun', 'none']).default('auto'),
  /** Base URL of the metadata service (default: the cloud's link-local address). */
  METADATA_ENDPOINT: envUrl(['http:']).optional(),
  /** How often the agent checks its addresses for a change (then it tells the controller at once). */
  ADDRESS_CHECK_MS: envInt(200, 600_000).default(2000),
  BACKOFF_MIN_MS: envInt(10, 60_000).default(500),
  BACKOFF_MAX_MS: envInt(100, 600_000).default(30_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  HTTPS_PROXY: z.string().optional(),
  https_proxy: z.string().optional(),
  HTTP_PROXY: z.string().optional(),
  http_proxy: z.string().optional(),
  NO_PROXY: z.string().optional(),
  no_proxy: z.string().optional(),
});

export type AgentConfig = ReturnType<typeof loadAgentConfig>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    controllerUrls: c.CONTROLLER_URL,
    gatewayId: c.GATEWAY_ID,
    secret: c.GATEWAY_SECRET,
    viciSocket: c.VICI_SOCKET,
    stateDir: c.STATE_DIR,
    publicIp: c.PUBLIC_IP,
    metadata: { provider: c.CLOUD_METADATA, ...(c.METADATA_ENDPOINT ? { endpoint: c.METADATA_ENDPOINT } : {}) },
    addressCheckMs: c.ADDRESS_CHECK_MS,
    backoff: { minMs: c.BACKOFF_MIN_MS, maxMs: Math.max(c.BACKOFF_MAX_MS, c.BACKOFF_MIN_MS) },
    logLevel: c.LOG_LEVEL,
    proxy: {
      https: c.HTTPS_PROXY ?? c.https_proxy,
      http: c.HTTP_PROXY ?? c.http_proxy,
      noProxy: c.NO_PROXY ?? c.no_proxy,
    },
  };
}
