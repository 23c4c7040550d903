// `npm start` / `npm run controller`: validates config, brings up what is missing on embedded
// defaults (database migrations, a Temporal dev server), starts the roles, stops cleanly on Ctrl-C.
// `npm run controller -- migrate` (an image's `migrate`) only applies the migrations and exits.
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadControllerConfig, type ControllerConfig } from './config';
import type { DevServer } from './temporal-dev';
import type { TemporalTls } from './runtime';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../lib/net';
import { migrateDb, migrationNames, schemaUpToDate } from '../db/migrate';
import { databaseKind, redactUrl } from '../db/url';
import { createLogger, type Logger } from '../lib/log';
import { ConfigError } from '../lib/env';
import { newSecretKey, parseSecretKey, type SecretKey } from '../lib/crypto';

/** The one subcommand; without an argument the controller runs. */
const MIGRATE = 'migrate';

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command !== undefined && command !== MIGRATE) {
    process.stderr.write(`controller: unknown command "${command.slice(0, 40)}": run it without arguments to start the controller, or with \`${MIGRATE}\` to apply the database migrations and exit\n`);
    process.exit(2);
  }
  let config: ControllerConfig;
  try {
    config = loadControllerConfig(process.env, { serving: command !== MIGRATE });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`controller: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (command === MIGRATE) return migrateCommand(config);
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, base: { instance: config.HUB_INSTANCE_ID } });
  await privateDataDir(config.DATA_DIR);
  if (config.MIGRATE_ON_START) await migrateDb(config.DATABASE_URL);
  else await requireMigrated(config.DATABASE_URL);

  // Loaded only to serve, after the schema is known good: `migrate` and a refusal start in a
  // fraction of the time without the SDK, the cloud clients and the API (seconds under tsx).
  const [{ Runtime: TemporalRuntime, makeTelemetryFilterString }, { startDevServer }, { startRuntime }] = await Promise.all([import('@temporalio/worker'), import('./temporal-dev'), import('./runtime')]);
  TemporalRuntime.install({
    logger: { log: (level, message, meta) => temporalLog(log, level, message, meta), trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m, meta) => temporalLog(log, 'WARN', m, meta), error: (m, meta) => temporalLog(log, 'ERROR', m, meta) },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const secretKey = await resolveSecretKey(config, log);
  const payloadKey = await resolvePayloadKey(config, secretKey, log);

  let dev: DevServer | undefined;
  let temporalAddress = config.TEMPORAL_ADDRESS;
  let uiUrl = config.TEMPORAL_UI_URL;
  if (!temporalAddress) {
    dev = await startDevServer({
      cli: config.TEMPORAL_CLI,
      port: config.TEMPORAL_DEV_PORT,
      uiPort: config.TEMPORAL_DEV_UI_PORT,
      dbFile: path.join(config.DATA_DIR, 'temporal.db'),
      namespace: config.TEMPORAL_NAMESPACE,
    });
    temporalAddress = dev.address;
    uiUrl ??= dev.uiUrl;
  }

  const temporalTlsFiles = temporalTls(config);
  const runtime = await startRuntime({
    roles: config.ROLES,
    api: { host: config.HOST, port: config.PORT, allowedHosts: config.API_ALLOWED_HOSTS ?? defaultAllowedHosts(config.HOST) },
    agent: { host: config.AGENT_HOST, port: config.AGENT_PORT, preauthPerIp: config.AGENT_PREAUTH_PER_IP, preauthMax: config.AGENT_PREAUTH_MAX, ...(config.AGENT_PUBLIC_URL ? { publicUrl: config.AGENT_PUBLIC_URL } : {}) },
    ...(config.METRICS_PORT !== undefined ? { metricsListener: { host: config.METRICS_HOST, port: config.METRICS_PORT } } : {}),
    ...(config.TLS_CERT && config.TLS_KEY ? { tls: { certFile: config.TLS_CERT, keyFile: config.TLS_KEY } } : {}),
    databaseUrl: config.DATABASE_URL,
    temporalAddress,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
    ...(temporalTlsFiles ? { temporalTls: temporalTlsFiles } : {}),
    temporalCompression: config.TEMPORAL_GRPC_COMPRESSION,
    payloadKey,
    cloudEndpointAllow: config.CLOUD_ENDPOINT_ALLOW ?? [],
    pskRotationDays: config.PSK_ROTATION_DAYS,
    temporalUiUrl: uiUrl,
    ...(config.WORKFLOW_BUNDLE ? { workflowBundlePath: config.WORKFLOW_BUNDLE } : {}),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    instanceId: config.HUB_INSTANCE_ID,
    secretKey,
    apiToken: config.API_TOKEN,
    heartbeatMs: config.HEARTBEAT_MS,
    rpcTimeoutMs: config.RPC_TIMEOUT_MS,
    helloTimeoutMs: config.HELLO_TIMEOUT_MS,
    cloudBudgets: config.CLOUD_RATE_LIMITS ?? {},
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    log,
  }).catch(async (err: unknown) => {
    await dev?.stop();
    throw err;
  });

  const lines = [`controller ${config.HUB_INSTANCE_ID} running roles ${config.ROLES.join(', ')}`];
  if (runtime.url) lines.push(`  Console:         ${runtime.url}/  ← open this in a browser`);
  if (runtime.url) lines.push(`  REST API:        ${runtime.url}/api${config.API_TOKEN ? ' (Authorization: Bearer $API_TOKEN)' : ''}`);
  if (runtime.agentUrl) lines.push(`  agent endpoint:  ${runtime.agentUrl.replace(/^http/, 'ws')}/agent`);
  if (runtime.metricsUrl) lines.push(`  Metrics:         ${runtime.metricsUrl}/metrics (no token)`);
  else if (runtime.url) lines.push(`  Metrics:         ${runtime.url}/metrics${config.API_TOKEN ? ' (Authorization: Bearer $API_TOKEN)' : ''}`);
  if (runtime.metricsUrl && !isLoopbackHost(config.METRICS_HOST)) {
    log.warn('the metrics listener answers anyone who can reach it, without a token: keep METRICS_HOST on a network only Prometheus reaches', { metricsHost: config.METRICS_HOST });
  }
  if (runtime.agentUrl && !config.TLS_CERT && !isLoopbackHost(config.AGENT_HOST)) {
    log.warn('the agent endpoint listens on a non-loopback address without TLS: PSKs would cross the network in cleartext; set TLS_CERT and TLS_KEY, or terminate TLS in a proxy in front of it', { agentHost: config.AGENT_HOST });
  }
  lines.push(`  Temporal:        ${temporalAddress}${dev ? ' (dev server, data in ' + path.join(config.DATA_DIR, 'temporal.db') + ')' : ''}`);
  if (uiUrl) lines.push(`  Temporal UI:     ${uiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows`);
  lines.push('Press Ctrl-C to stop.');
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal: sig });
    // Workers wait for running activities; do not let a stuck one keep the process forever.
    const forced = setTimeout(() => {
      log.error('clean stop took more than 20 s; exiting anyway');
      // Without a dev server (TEMPORAL_ADDRESS set) there is nothing to wait for: exit now.
      void (dev?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
    }, 20_000);
    forced.unref();
    await runtime.close();
    await dev?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A renewed certificate is picked up without a restart; agents stay connected.
  process.on('SIGHUP', () => {
    runtime.reloadTls().then(
      () => log.info('TLS certificate and key re-read'),
      (err: unknown) => log.error('could not re-read the TLS certificate and key; keeping the previous ones', { err }),
    );
  });
}

/**
 * `migrate`: applies pending migrations (a no-op when there are none) and exits 0, or 1 with the
 * reason. Only DATABASE_URL (and DATA_DIR for the embedded SQLite file) matter; no key, no Temporal.
 * Several at once are safe (db/migrate.ts), so a Job that is retried or run twice does no harm.
 */
async function migrateCommand(config: ControllerConfig): Promise<never> {
  const url = config.DATABASE_URL;
  const started = Date.now();
  try {
    if (databaseKind(url) === 'sqlite') await privateDataDir(config.DATA_DIR);
    await migrateDb(url);
  } catch (err) {
    process.stderr.write(`controller ${MIGRATE}: could not migrate ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const names = migrationNames(databaseKind(url));
  process.stdout.write(`controller ${MIGRATE}: ${redactUrl(url)} is up to date (${names.length} migrations, latest ${names.at(-1) ?? 'none'}) in ${Date.now() - started} ms\n`);
  process.exit(0);
}

/**
 * MIGRATE_ON_START=false: the schema must already be this version's, since code running on an
 * older schema fails later and in confusing ways. Exit 2 (configuration) names the fix.
 */
async function requireMigrated(url: string): Promise<void> {
  let current: boolean;
  try {
    current = await schemaUpToDate(url);
  } catch (err) {
    throw new Error(`could not read the migration state of ${redactUrl(url)}: ${(err as Error).message}`);
  }
  if (current) return;
  process.stderr.write(
    `controller: the database schema of ${redactUrl(url)} is behind this version and MIGRATE_ON_START=false: ` +
      `run the \`${MIGRATE}\` command first (\`npm run controller -- ${MIGRATE}\`, or the image with the argument \`${MIGRATE}\`), or set MIGRATE_ON_START=true\n`,
  );
  process.exit(2);
}

/**
 * The data directory holds the embedded database, Temporal's database and generated keys: only
 * the controller's user may read it. Files the controller (and the Temporal dev server it starts)
 * create get no group or other bits; ones left by an older version are tightened.
 */
async function privateDataDir(dir: string): Promise<void> {
  process.umask(0o077);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) await chmod(path.join(dir, entry.name), 0o600);
  }
}

function temporalTls(config: ControllerConfig): TemporalTls | undefined {
  const t = {
    ...(config.TEMPORAL_TLS_CERT ? { certFile: config.TEMPORAL_TLS_CERT } : {}),
    ...(config.TEMPORAL_TLS_KEY ? { keyFile: config.TEMPORAL_TLS_KEY } : {}),
    ...(config.TEMPORAL_TLS_CA ? { caFile: config.TEMPORAL_TLS_CA } : {}),
    ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverName: config.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  return Object.keys(t).length ? t : undefined;
}

/** The API answers requests addressed to this machine by default (a DNS-rebinding guard). */
function defaultAllowedHosts(host: string): string[] {
  const own = ['localhost', '127.0.0.1', '::1', hostname().toLowerCase()];
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.push(a.address);
  } else {
    own.push(host);
  }
  return [...new Set(own)];
}

async function resolveSecretKey(config: ControllerConfig, log: Logger): Promise<SecretKey> {
  return resolveKey(config, log, 'SECRET_KEY', config.SECRET_KEY, 'secret.key');
}

/** The payload key must differ from SECRET_KEY: Temporal's operators need not be able to open PSKs. */
async function resolvePayloadKey(config: ControllerConfig, secretKey: SecretKey, log: Logger): Promise<Buffer> {
  const key = await resolveKey(config, log, 'TEMPORAL_PAYLOAD_KEY', config.TEMPORAL_PAYLOAD_KEY, 'payload.key');
  if (key.equals(secretKey)) {
    process.stderr.write('controller: invalid configuration:\n  TEMPORAL_PAYLOAD_KEY: must differ from SECRET_KEY\n');
    process.exit(2);
  }
  return key;
}

/**
 * A 32-byte key from the environment, else generated once and kept in the data directory (the
 * embedded default). Several controller processes must share each key, so production sets them.
 */
async function resolveKey(config: ControllerConfig, log: Logger, name: string, given: string | undefined, fileName: string): Promise<SecretKey> {
  if (given) {
    try {
      return parseSecretKey(given);
    } catch (err) {
      process.stderr.write(`controller: invalid configuration:\n  ${name}: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  const file = path.join(config.DATA_DIR, fileName);
  try {
    return parseSecretKey(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is not a valid key: ${(err as Error).message}`);
  }
  const key = newSecretKey();
  await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' });
  if (!config.DATABASE_URL.startsWith('file:') || config.TEMPORAL_ADDRESS) log.warn(`${name} is not set; generated one in the data directory. Set ${name} on every controller process of this deployment.`);
  return parseSecretKey(key);
}

function temporalLog(log: Logger, level: string, message: string, meta?: Record<string, unknown>): void {
  // The hub's own task queue carries activities only; the SDK warns about that on every start.
  if (message.startsWith('No workflows registered')) return;
  // Worker errors carry the task (and its token, which lets its holder complete or fail the
  // activity): never into our logs.
  const { taskToken: _token, task: _task, taskEncoded: _encoded, ...fields } = meta ?? {};
  if (level === 'WARN') log.warn(message, fields);
  else if (level === 'ERROR') log.error(message, fields);
}

main().catch((err: unknown) => {
  process.stderr.write(`controller: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
