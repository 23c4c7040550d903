// The agent's status file and the container health check's verdict on it (agent/status-file.ts).
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { judgeStatus, startStatusFile, STATUS_FILE } from '../../agent/status-file';
import { createLogger } from '../../lib/log';

const now = new Date('2026-01-01T00:00:30Z');
const status = (s: object) => JSON.stringify(s);

describe('agent health check verdict', () => {
  it('is healthy while connected, or while holding saved links without a controller', () => {
    expect(judgeStatus(status({ connected: true, links: 0, up: 0, at: '2026-01-01T00:00:25Z' }), now).healthy).toBe(true);
    const held = judgeStatus(status({ connected: false, links: 2, up: 1, at: '2026-01-01T00:00:25Z' }), now);
    expect(held).toEqual({ healthy: true, reason: 'controller unreachable; holding 2 saved link(s), 1 up' });
  });

  it('is unhealthy with nothing held and no controller, a stale or missing or broken file', () => {
    expect(judgeStatus(status({ connected: false, links: 0, up: 0, at: '2026-01-01T00:00:25Z' }), now).reason).toBe('not connected and holding no links');
    expect(judgeStatus(status({ connected: true, links: 3, up: 3, at: '2025-12-31T23:59:59Z' }), now).reason).toMatch(/stale/);
    expect(judgeStatus(status({ connected: true, links: 3, up: 3 }), now).healthy).toBe(false);
    expect(judgeStatus(undefined, now).healthy).toBe(false);
    expect(judgeStatus('{', now).healthy).toBe(false);
  });
});

describe('agent status file', () => {
  it('is written on a timer (creating STATE_DIR private), follows the agent, and is readable by the verdict', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'status-')), 'state');
    let connected = false;
    const writer = startStatusFile(dir, () => ({ connected, links: 1, up: 0 }), createLogger({ level: 'error' }), 50);
    try {
      await expect.poll(() => readFile(path.join(dir, STATUS_FILE), 'utf8').catch(() => ''), { timeout: 2000 }).toContain('"connected":false');
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      connected = true;
      await expect.poll(() => readFile(path.join(dir, STATUS_FILE), 'utf8'), { timeout: 2000 }).toContain('"connected":true');
      expect(judgeStatus(await readFile(path.join(dir, STATUS_FILE), 'utf8'), new Date()).reason).toBe('connected, 1 link(s), 0 up');
    } finally {
      await writer.stop();
    }
  });
});
