// Real agents (the production Agent class and its WebSocket session) over a given IPsec driver.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from '../../agent/agent';
import { StateStore } from '../../agent/state';
import type { IpsecDriver } from '../../agent/driver';
import type { MetadataSource } from '../../agent/metadata';
import { createLogger, silentLogger } from '../../lib/log';

export interface TestAgent {
  agent: Agent;
  stateDir: string;
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startTestAgent(opts: {
  controllerUrl: string | string[];
  gatewayId: string;
  secret: string;
  driver: IpsecDriver;
  publicIp?: string;
  stateDir?: string;
  /** A cloud metadata service to read the public address from (and watch, every addressCheckMs). */
  metadata?: MetadataSource;
  addressCheckMs?: number;
}): Promise<TestAgent> {
  const stateDir = opts.stateDir ?? (await mkdtemp(path.join(tmpdir(), 'agent-')));
  const log = process.env.TEST_LOG ? createLogger({ level: 'debug', pretty: true, base: { agent: opts.gatewayId } }) : silentLogger;
  const agent = new Agent({
    driver: opts.driver,
    state: new StateStore(stateDir),
    log,
    ...(opts.publicIp ? { publicIp: opts.publicIp } : {}),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
    ...(opts.addressCheckMs ? { addressCheckMs: opts.addressCheckMs } : {}),
    session: {
      controllerUrls: Array.isArray(opts.controllerUrl) ? opts.controllerUrl : [opts.controllerUrl],
      gatewayId: opts.gatewayId,
      secret: opts.secret,
      proxy: {},
      backoff: { minMs: 50, maxMs: 500 },
    },
  });
  const done = agent.run();
  return {
    agent,
    stateDir,
    done,
    async stop() {
      await agent.stop();
      await done.catch(() => undefined);
    },
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
