// Agent configuration, read once at start and validated (CONTROLLER_CA is read here too).
import { z } from 'zod';
import { ConfigError, envBool, envInt, envUrl, parseEnv } from '../lib/env';
import { isLoopbackHost } from '../lib/net';
import { isPin, readCaBundle } from './tls';
import { parseMetricsAddr } from './metrics';

const schema = z
  .object({
    /** One or more controller base URLs, comma-separated; the agent spreads over them and fails over. */
    CONTROLLER_URL: z
      .string()
      .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
      .pipe(z.array(envUrl(['http:', 'https:', 'ws:', 'wss:'])).min(1)),
    /** PEM bundle of the CA(s) to verify the controller with instead of the system CAs. */
    CONTROLLER_CA: z.string().optional(),
    /** Comma-separated public-key pins of the controller's chain (curl --pinnedpubkey format). */
    CONTROLLER_PIN: z
      .string()
      .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
      .pipe(z.array(z.string().refine(isPin, { error: "expected comma-separated sha256/<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>, as curl --pinnedpubkey takes (openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)" })))
      .optional(),
    /** ws:// or http:// to a controller off loopback: PSKs in cleartext. Only on a network you trust. */
    ALLOW_INSECURE_CONTROLLER: envBool.optional(),
    GATEWAY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected the gateway id printed when the gateway was registered' }),
    /** Optional: without it the agent uses STATE_DIR/credentials.json or enrols with ENROLMENT_TOKEN. */
    GATEWAY_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'expected the agent secret printed when the gateway was registered' }).optional(),
    /** Single-use, short-lived token for the first connect (POST /api/gateways/:id/enrolment-token). */
    ENROLMENT_TOKEN: z.string().regex(/^[A-Za-z0-9_-]{43}$/, { error: 'expected the 43-character enrolment token from POST /api/gateways/:id/enrolment-token' }).optional(),
    VICI_SOCKET: z.string().default('/var/run/charon.vici'),
    /** Where the last applied config and credentials.json are kept (they hold secrets: 0700 dir, 0600 files). */
    STATE_DIR: z.string().default('/var/lib/ipsec-agent'),
    /** Public address to report when the agent knows it (otherwise the hub's observed address is used). */
    PUBLIC_IP: z.ipv4().or(z.ipv6()).optional(),
    /** Which cloud's instance metadata service to ask for the public IP and instance identity. */
    CLOUD_METADATA: z.enum(['auto', 'aws', 'aliyun', 'none']).default('auto'),
    /** Base URL of the metadata service (default: the cloud's link-local address). */
    METADATA_ENDPOINT: envUrl(['http:']).optional(),
    /** How often the agent checks its addresses for a change (then it tells the controller at once). */
    ADDRESS_CHECK_MS: envInt(200, 600_000).default(2000),
    /** How often the agent reports each link's data-plane health (counters, probes through the tunnel). */
    HEALTH_INTERVAL_MS: envInt(100, 3_600_000).default(10_000),
    /** UDP port of the probe responder on the gateway's inner address (the same on every gateway). */
    HEALTH_PROBE_PORT: envInt(1, 65_535).default(4510),
    BACKOFF_MIN_MS: envInt(10, 60_000).default(500),
    BACKOFF_MAX_MS: envInt(100, 600_000).default(30_000),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** host:port for the agent's own Prometheus endpoint (GET /metrics), e.g. 127.0.0.1:9469; unset: none. */
    AGENT_METRICS_ADDR: z
      .string()
      .transform((value, ctx) => parseMetricsAddr(value) ?? (ctx.addIssue({ code: 'custom', message: 'expected host:port or [ipv6]:port, e.g. 127.0.0.1:9469' }), z.NEVER))
      .optional(),
    HTTPS_PROXY: z.string().optional(),
    https_proxy: z.string().optional(),
    HTTP_PROXY: z.string().optional(),
    http_proxy: z.string().optional(),
    NO_PROXY: z.string().optional(),
    no_proxy: z.string().optional(),
  })
  .superRefine((config, ctx) => {
    if (config.ALLOW_INSECURE_CONTROLLER) return;
    // PSKs and the agent's secret travel on this connection: cleartext only to this machine
    // (e.g. a TLS-terminating sidecar), unless the operator says the path is trusted.
    const cleartext = config.CONTROLLER_URL.filter((u) => {
      // zod runs this refinement even when a URL was already refused; that one is reported already.
      const url = URL.canParse(u) ? new URL(u) : undefined;
      return (url?.protocol === 'ws:' || url?.protocol === 'http:') && !isLoopbackHost(url.hostname);
    });
    if (cleartext.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['CONTROLLER_URL'],
        message: `${cleartext.join(', ')} is not encrypted (PSKs and the agent secret would travel in cleartext): use https:// or wss://, or set ALLOW_INSECURE_CONTROLLER=1 if the network to the controller is trusted`,
      });
    }
  });

export type AgentConfig = ReturnType<typeof loadAgentConfig>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    controllerUrls: c.CONTROLLER_URL,
    allowInsecure: c.ALLOW_INSECURE_CONTROLLER ?? false,
    tls: { ...(c.CONTROLLER_CA ? { ca: readCa(c.CONTROLLER_CA) } : {}), pins: c.CONTROLLER_PIN ?? [] },
    gatewayId: c.GATEWAY_ID,
    secret: c.GATEWAY_SECRET,
    enrolmentToken: c.ENROLMENT_TOKEN,
    viciSocket: c.VICI_SOCKET,
    stateDir: c.STATE_DIR,
    publicIp: c.PUBLIC_IP,
    metadata: { provider: c.CLOUD_METADATA, ...(c.METADATA_ENDPOINT ? { endpoint: c.METADATA_ENDPOINT } : {}) },
    addressCheckMs: c.ADDRESS_CHECK_MS,
    health: { intervalMs: c.HEALTH_INTERVAL_MS, probePort: c.HEALTH_PROBE_PORT },
    backoff: { minMs: c.BACKOFF_MIN_MS, maxMs: Math.max(c.BACKOFF_MAX_MS, c.BACKOFF_MIN_MS) },
    logLevel: c.LOG_LEVEL,
    metricsAddr: c.AGENT_METRICS_ADDR,
    proxy: {
      https: c.HTTPS_PROXY ?? c.https_proxy,
      http: c.HTTP_PROXY ?? c.http_proxy,
      noProxy: c.NO_PROXY ?? c.no_proxy,
    },
  };
}

/** Read once, at start: a certificate rotated on disk takes effect at the next agent start. */
function readCa(file: string): string {
  try {
    return readCaBundle(file);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  CONTROLLER_CA: ${(err as Error).message}`);
  }
}
