// `npm start` / `npm run controller`: validates config, brings up what is missing on embedded
// defaults (database migrations, a Temporal dev server), starts the roles, stops cleanly on Ctrl-C.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime as TemporalRuntime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadControllerConfig, type ControllerConfig } from './config';
import { startDevServer, type DevServer } from './temporal-dev';
import { startRuntime } from './runtime';
import { migrateDb } from '../db';
import { createLogger, type Logger } from '../lib/log';
import { ConfigError } from '../lib/env';
import { newSecretKey, parseSecretKey, type SecretKey } from '../lib/crypto';

async function main(): Promise<void> {
  let config: ControllerConfig;
  try {
    config = loadControllerConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`controller: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, base: { instance: config.HUB_INSTANCE_ID } });
  TemporalRuntime.install({
    logger: { log: (level, message, meta) => temporalLog(log, level, message, meta), trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m, meta) => temporalLog(log, 'WARN', m, meta), error: (m, meta) => temporalLog(log, 'ERROR', m, meta) },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });

  await mkdir(config.DATA_DIR, { recursive: true });
  const secretKey = await resolveSecretKey(config, log);
  await migrateDb(config.DATABASE_URL);

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

  const runtime = await startRuntime({
    roles: config.ROLES,
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    temporalAddress,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
    temporalUiUrl: uiUrl,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    instanceId: config.HUB_INSTANCE_ID,
    secretKey,
    apiToken: config.API_TOKEN,
    heartbeatMs: config.HEARTBEAT_MS,
    rpcTimeoutMs: config.RPC_TIMEOUT_MS,
    helloTimeoutMs: config.HELLO_TIMEOUT_MS,
    cloudBudgets: config.CLOUD_RATE_LIMITS ?? {},
    log,
  }).catch(async (err: unknown) => {
    await dev?.stop();
    throw err;
  });

  const lines = [`controller ${config.HUB_INSTANCE_ID} running roles ${config.ROLES.join(', ')}`];
  if (runtime.url && config.ROLES.includes('api')) lines.push(`  REST API:        ${runtime.url}/api`);
  if (runtime.url && runtime.hub) lines.push(`  agent endpoint:  ${runtime.url.replace(/^http/, 'ws')}/agent`);
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
}

async function resolveSecretKey(config: ControllerConfig, log: Logger): Promise<SecretKey> {
  if (config.SECRET_KEY) {
    try {
      return parseSecretKey(config.SECRET_KEY);
    } catch (err) {
      process.stderr.write(`controller: invalid configuration:\n  SECRET_KEY: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  // Embedded default: a key generated once and kept beside the database. Several controller
  // processes must share one key, so production sets SECRET_KEY explicitly.
  const file = path.join(config.DATA_DIR, 'secret.key');
  try {
    return parseSecretKey(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is not a valid key: ${(err as Error).message}`);
  }
  const key = newSecretKey();
  await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' });
  if (!config.DATABASE_URL.startsWith('file:')) log.warn('SECRET_KEY is not set; generated one in the data directory. Set SECRET_KEY on every controller process sharing this database.');
  return parseSecretKey(key);
}

function temporalLog(log: Logger, level: string, message: string, meta?: Record<string, unknown>): void {
  // The hub's own task queue carries activities only; the SDK warns about that on every start.
  if (message.startsWith('No workflows registered')) return;
  if (level === 'WARN') log.warn(message, meta);
  else if (level === 'ERROR') log.error(message, meta);
}

main().catch((err: unknown) => {
  process.stderr.write(`controller: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
