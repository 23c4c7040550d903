// STATE_DIR/status.json: what the agent's container health check reads (deploy/agent/healthcheck).
// A file rather than a listener: it costs no port on the host network, works without
// AGENT_METRICS_ADDR, and a stuck agent shows up as a stale file.
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../lib/log';
import { ensurePrivateDir } from './private-file';

export interface AgentStatus {
  /** Welcomed by a controller right now. */
  connected: boolean;
  /** Links held (applied to charon and saved), which keep working without the controller. */
  links: number;
  /** Links whose CHILD_SA charon last reported installed. */
  up: number;
}

export const STATUS_FILE = 'status.json';
/** How often the file is rewritten; the health check calls it stale after a few missed writes. */
export const STATUS_EVERY_MS = 5_000;
export const STATUS_MAX_AGE_MS = 30_000;

/**
 * Writes the status every `everyMs` until stopped; a failed write is logged, never fatal. No
 * fsync: a crash loses nothing the health check needs (a missing or stale file already means unhealthy).
 */
export function startStatusFile(stateDir: string, read: () => AgentStatus, log: Logger, everyMs = STATUS_EVERY_MS): { stop(): Promise<void> } {
  const file = path.join(stateDir, STATUS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  let writing: Promise<void> | undefined;
  const write = () => {
    if (writing) return; // a slow disk: skip a tick rather than race on the temp file
    const text = JSON.stringify({ ...read(), at: new Date().toISOString() });
    writing = ensurePrivateDir(stateDir)
      .then(() => writeFile(tmp, text, { mode: 0o600 }))
      .then(() => rename(tmp, file))
      .catch((err: unknown) => log.warn('could not write the status file', { file, err }))
      .finally(() => (writing = undefined));
  };
  // First write after one interval: an agent that fails at start (no credentials, a refused
  // secret) exits before it, leaving STATE_DIR untouched.
  const timer = setInterval(write, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await writing;
    },
  };
}

/**
 * The health check's verdict on the file's text: healthy when it is fresh and the agent is either
 * connected or holding saved links (tunnels keep working while the controller is unreachable).
 */
export function judgeStatus(text: string | undefined, now: Date, maxAgeMs = STATUS_MAX_AGE_MS): { healthy: boolean; reason: string } {
  if (text === undefined) return { healthy: false, reason: 'no status file yet' };
  let s: Partial<AgentStatus> & { at?: string };
  try {
    s = JSON.parse(text) as typeof s;
  } catch {
    return { healthy: false, reason: 'status file is not JSON' };
  }
  const age = now.getTime() - Date.parse(s.at ?? '');
  if (!(age <= maxAgeMs)) return { healthy: false, reason: `status file is stale (written ${s.at ?? 'never'})` };
  if (s.connected) return { healthy: true, reason: `connected, ${s.links ?? 0} link(s), ${s.up ?? 0} up` };
  if ((s.links ?? 0) > 0) return { healthy: true, reason: `controller unreachable; holding ${s.links} saved link(s), ${s.up ?? 0} up` };
  return { healthy: false, reason: 'not connected and holding no links' };
}
