// Controller configuration: read once at start from the environment, validated, typed.
import { z } from 'zod';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ConfigError, envBool, envInt, envUrl, parseEnv } from '../lib/env';
import { isLoopbackHost } from '../lib/net';
import { AllowListError, parseAllowList } from '../cloud/endpoint-policy';
import { BudgetOverrides } from '../cloud/budgets';

export const ROLES = ['api', 'hub', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const schema = z.object({
  ROLES: z
    .string()
    .default('api,hub,worker')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(ROLES, { error: `expected a comma-separated subset of ${ROLES.join(',')}` })).min(1)),
  /** The REST API and the console: loopback unless the operator opens it (with API_TOKEN). */
  HOST: z.string().default('127.0.0.1'),
  PORT: envInt(0, 65535).default(8080),
  /** The agents' WebSocket endpoint, on a listener of its own. */
  AGENT_HOST: z.string().default('127.0.0.1'),
  AGENT_PORT: envInt(0, 65535).default(8081),
  /**
   * The URL agents dial (their CONTROLLER_URL), shown with a new agent secret; default: the agent
   * listener's own address, or, when it listens on all addresses, the host the API was reached by.
   */
  AGENT_PUBLIC_URL: z
    .string()
    .refine((s) => { try { return ['ws:', 'wss:', 'http:', 'https:'].includes(new URL(s).protocol); } catch { return false; } }, { error: 'expected a ws://, wss://, http:// or https:// URL' })
    .optional(),
  /**
   * Prometheus metrics on a listener of their own, without a token (GET /metrics); unset: only on
   * the API listener (behind API_TOKEN when set). Loopback unless the operator opens it.
   */
  METRICS_PORT: envInt(0, 65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** Host header values the API answers (DNS-rebinding guard); comma-separated, "*" turns the check off. */
  API_ALLOWED_HOSTS: list.optional(),
  /** A workflow bundle made at build time (the controller image sets it); without it the worker bundles at start. */
  WORKFLOW_BUNDLE: z.string().min(1).optional(),
  /**
   * The SDK's per-promise stack capture behind the Temporal UI's "Stack Trace" tab (the workflow
   * threads read this variable; patches/@temporalio+worker+*.patch): off by default, it costs about
   * 40 % of a workflow thread's CPU. `on` while debugging a stuck workflow.
   */
  WORKFLOW_STACK_TRACES: z.enum(['on', 'off']).default('off'),
  /** PEM certificate chain and key: both listeners serve HTTPS/WSS; re-read on SIGHUP. */
  TLS_CERT: z.string().optional(),
  TLS_KEY: z.string().optional(),
  /** mTLS to Temporal: client certificate and key, and the CA that signed the server's certificate. */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** gRPC compression to Temporal: none (default; payloads are sealed, which gzip cannot shrink) or gzip. */
  TEMPORAL_GRPC_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  /** 32 bytes (hex or base64) encrypting workflow and activity payloads; generated into DATA_DIR when unset. */
  TEMPORAL_PAYLOAD_KEY: z.string().optional(),
  /** Cloud API endpoint overrides accepted on accounts, beyond the providers' own domains (host patterns). */
  CLOUD_ENDPOINT_ALLOW: list.optional(),
  /** Rotate every link's PSK after this many days (0: only when asked, POST /api/links/:id/rotate-key). */
  PSK_ROTATION_DAYS: envInt(0, 3650).default(0),
  /** Audit records (GET /api/audit) are deleted after this many days. */
  AUDIT_RETENTION_DAYS: envInt(1, 36500).default(365),
  /** Pre-authentication sockets on the agent listener: per source address and in total. */
  AGENT_PREAUTH_PER_IP: envInt(1, 1_000_000).default(64),
  AGENT_PREAUTH_MAX: envInt(1, 1_000_000).default(4096),
  DATA_DIR: z.string().default('.data'),
  /**
   * Apply pending database migrations at start (the embedded default). Deployments with several
   * replicas set false and run `migrate` once per upgrade (a Job, a one-shot service): a replica
   * then refuses to start on a schema that is behind.
   */
  MIGRATE_ON_START: envBool.default(true),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, { error: 'expected file:<path> (SQLite) or postgresql://… (PostgreSQL)' })
    .optional(),
  /** host:port of an existing Temporal server; when unset the controller starts a dev server. */
  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, { error: 'expected host:port' }).optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_URL: envUrl(['http:', 'https:']).optional(),
  TEMPORAL_TASK_QUEUE: z.string().default('ipsec-links'),
  /** Where `temporal` is when not on PATH (npm start installs it into .tools/venv). */
  TEMPORAL_CLI: z.string().optional(),
  TEMPORAL_DEV_PORT: envInt(1, 65535).default(7233),
  TEMPORAL_DEV_UI_PORT: envInt(1, 65535).default(8233),
  /** 32 bytes (base64 or hex) encrypting PSKs at rest; generated into DATA_DIR when unset. */
  SECRET_KEY: z.string().optional(),
  /** Bearer token for the REST API; required when HOST is not a loopback address. */
  API_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  HUB_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1-64 of A-Z a-z 0-9 _ . -' }).optional(),
  HEARTBEAT_MS: envInt(1000, 300_000).default(15_000),
  RPC_TIMEOUT_MS: envInt(100, 600_000).default(20_000),
  HELLO_TIMEOUT_MS: envInt(100, 60_000).default(10_000),
  /** JSON overriding the per-provider API budgets (calls/s), e.g. {"aliyun":{"routeWrite":20}}. */
  CLOUD_RATE_LIMITS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON such as {"aliyun":{"routeWrite":20}}' });
        return z.NEVER;
      }
    })
    .pipe(BudgetOverrides)
    .optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_PRETTY: envBool.default(false),
});

export type ControllerConfig = ReturnType<typeof loadControllerConfig>;

/** Every variable the controller reads (deploy/ files are checked against it, test/deploy). */
export const CONTROLLER_ENV_NAMES: readonly string[] = Object.keys(schema.shape);

/**
 * `opts.serving: false` (the `migrate` command) skips the checks of what only a serving process
 * uses, so a migration Job or one-shot service needs DATABASE_URL and not the API token.
 */
export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env, opts: { serving?: boolean } = {}) {
  const c = parseEnv(schema, env);
  const problems: string[] = [];
  const serving = opts.serving ?? true;
  // An API that can change the network must never be open to the network by accident.
  if (serving && !isLoopbackHost(c.HOST) && !c.API_TOKEN) {
    problems.push(`  API_TOKEN: required when the API listens on ${c.HOST}, which is not a loopback address; set API_TOKEN (16+ characters), or keep HOST=127.0.0.1 (agents have their own listener, AGENT_HOST)`);
  }
  if (!!c.TLS_CERT !== !!c.TLS_KEY) problems.push('  TLS_CERT, TLS_KEY: give both (PEM files) or neither');
  if (!!c.TEMPORAL_TLS_CERT !== !!c.TEMPORAL_TLS_KEY) problems.push('  TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: give both (PEM files) or neither');
  if (c.ROLES.includes('hub') && c.ROLES.includes('api') && c.HOST === c.AGENT_HOST && c.PORT === c.AGENT_PORT && c.PORT !== 0) {
    problems.push(`  AGENT_PORT: the agent listener needs a port of its own (PORT is ${c.PORT} too)`);
  }
  if (c.METRICS_PORT !== undefined && c.METRICS_PORT !== 0) {
    const taken = [c.ROLES.includes('api') && c.HOST === c.METRICS_HOST && c.PORT === c.METRICS_PORT ? 'PORT' : undefined, c.ROLES.includes('hub') && c.AGENT_HOST === c.METRICS_HOST && c.AGENT_PORT === c.METRICS_PORT ? 'AGENT_PORT' : undefined].filter(Boolean);
    if (taken.length) problems.push(`  METRICS_PORT: the metrics listener needs a port of its own (${taken.join(' and ')} is ${c.METRICS_PORT} too)`);
  }
  if (c.CLOUD_ENDPOINT_ALLOW) {
    try {
      parseAllowList(c.CLOUD_ENDPOINT_ALLOW);
    } catch (err) {
      if (!(err instanceof AllowListError)) throw err;
      problems.push(`  CLOUD_ENDPOINT_ALLOW: ${err.message}`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    DATA_DIR: dataDir,
    DATABASE_URL: c.DATABASE_URL ?? `file:${path.join(dataDir, 'controller.db')}`,
    HUB_INSTANCE_ID: c.HUB_INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`,
  };
}
