// `npm run agent`: the VPN container's agent. Dials out to the controller, drives charon over VICI.
// Exit codes: 2 configuration error, 3 credentials or enrolment token refused (401), 1 anything else.
import { loadAgentConfig, type AgentConfig } from './config';
import { Agent } from './agent';
import { AuthRejectedError } from './session';
import { StateStore } from './state';
import { ViciDriver } from './vici-driver';
import { createMetadataSource } from './metadata';
import { AgentMetrics, serveAgentMetrics } from './metrics';
import { startStatusFile } from './status-file';
import { ConfigError } from '../lib/env';
import { createLogger } from '../lib/log';

async function main(): Promise<void> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agent: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, base: { gatewayId: config.gatewayId } });
  const metrics = config.metricsAddr ? new AgentMetrics() : undefined;
  if (metrics && config.metricsAddr) {
    const served = await serveAgentMetrics(config.metricsAddr, metrics, log);
    log.info('metrics served', { url: `${served.url}/metrics` });
  }
  const agent = new Agent({
    ...(metrics ? { metrics } : {}),
    driver: new ViciDriver({ socketPath: config.viciSocket, log: log.child({ component: 'vici' }) }),
    state: new StateStore(config.stateDir),
    log,
    ...(config.publicIp ? { publicIp: config.publicIp } : {}),
    metadata: createMetadataSource({ ...config.metadata, log: log.child({ component: 'metadata' }) }),
    addressCheckMs: config.addressCheckMs,
    health: config.health,
    session: {
      controllerUrls: config.controllerUrls,
      gatewayId: config.gatewayId,
      ...(config.secret ? { secret: config.secret } : {}),
      ...(config.enrolmentToken ? { enrolmentToken: config.enrolmentToken } : {}),
      stateDir: config.stateDir,
      proxy: config.proxy,
      tls: config.tls,
      backoff: config.backoff,
    },
  });
  // Every 5 s from the start, so the health check also sees saved links held before any connect.
  const status = startStatusFile(config.stateDir, () => agent.snapshot(), log);
  const stop = (sig: string) => {
    log.info('stopping', { signal: sig });
    // Tunnels stay up: charon keeps its SAs; only the agent exits.
    Promise.all([agent.stop(), status.stop()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await agent.run();
  } catch (err) {
    // Exit codes: 2 = configuration (no way to authenticate), 3 = credentials refused (401).
    if (err instanceof ConfigError) {
      process.stderr.write(`agent: ${err.message}\n`);
      await agent.stop();
      process.exit(2);
    }
    if (err instanceof AuthRejectedError) {
      log.error(err.message);
      await agent.stop();
      process.exit(3);
    }
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
