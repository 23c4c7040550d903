// Controller configuration: read once at start from the environment, validated, typed.
import { z } from 'zod';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { envBool, envInt, envUrl, parseEnv } from '../lib/env';
import { BudgetOverrides } from '../cloud/budgets';

export const ROLES = ['api', 'hub', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const schema = z.object({
  ROLES: z
    .string()
    .default('api,hub,worker')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(ROLES, { error: `expected a comma-separated subset of ${ROLES.join(',')}` })).min(1)),
  HOST: z.string().default('127.0.0.1'),
  PORT: envInt(0, 65535).default(8080),
  DATA_DIR: z.string().default('.data'),
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
  /** Bearer token for the REST API; when unset the API is open (bind HOST to loopback then). */
  API_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  HUB_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1-64 of A-Z a-z 0-9 _ . -' }).optional(),
  HEARTBEAT_MS: envInt(1000, 300_000).default(15_000),
  RPC_TIMEOUT_MS: envInt(100, 600_000).default(20_000),
  HELLO_TIMEOUT_MS: envInt(100, 60_000).default(10_000),
  /** JSON overriding the per-provider API budgets (calls/s), e.g. {"aliyun":{"routeWrite":20}}. */
  CLOUD_RATE_LIMITS: z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
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

export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    DATA_DIR: dataDir,
    DATABASE_URL: c.DATABASE_URL ?? `file:${path.join(dataDir, 'controller.db')}`,
    HUB_INSTANCE_ID: c.HUB_INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`,
  };
}
