// The initiator's first report after `initiate` answered is absorbed (its workflow knows already);
// every other report goes through: a down, an up after any report, one after a config push, one
// after the answer went stale.
import { describe, expect, it } from 'vitest';
import { TunnelEcho } from '../../gateway-hub/tunnel-echo';

describe('TunnelEcho', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('absorbs the one up report that follows an answer, and only that one', () => {
    const echo = new TunnelEcho(clock().now);
    echo.installed('ln1', 'gw1');
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(true);
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(false);
  });

  it('lets a down report through, and the up after it', () => {
    const echo = new TunnelEcho(clock().now);
    echo.installed('ln1', 'gw1');
    expect(echo.absorbs('ln1', 'gw1', false)).toBe(false);
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(false);
  });

  it('keeps ends and links apart', () => {
    const echo = new TunnelEcho(clock().now);
    echo.installed('ln1', 'gw1');
    expect(echo.absorbs('ln1', 'gw2', true)).toBe(false);
    expect(echo.absorbs('ln2', 'gw1', true)).toBe(false);
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(true);
  });

  it('forgets an answer when the end gets a new config', () => {
    const echo = new TunnelEcho(clock().now);
    echo.installed('ln1', 'gw1');
    echo.forget('ln1', 'gw1');
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(false);
  });

  it('lets a report through once the answer is older than its time to live, and drops stale answers', () => {
    const time = clock();
    const echo = new TunnelEcho(time.now, 1000);
    echo.installed('ln1', 'gw1');
    time.advance(1001);
    expect(echo.absorbs('ln1', 'gw1', true)).toBe(false);
    echo.installed('ln2', 'gw1');
    time.advance(1001);
    echo.installed('ln3', 'gw1');
    expect(echo.size).toBe(1);
  });
});
