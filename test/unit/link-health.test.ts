// Data-plane health, agent side: list-sas figures from a captured charon stream, the RTT window,
// the UDP probe and responder, the inner-address lookup, and the monitor's interval logic.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketType, ViciStreamDecoder } from '../../agent/vici/codec';
import { parseListSaEvent } from '../../agent/vici/commands';
import { HealthMonitor, ProbeTrack, saFigures } from '../../agent/health/monitor';
import { probe, ProbeResponders } from '../../agent/health/probe';
import { RttWindow } from '../../agent/health/rtt';
import { innerAddrFor } from '../../agent/health/inner-addr';
import { AgentFrame, LinkHealthReport, type IkeSaState, type LinkConfig } from '../../protocol/messages';
import { createLogger } from '../../lib/log';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'vici');

/** The captured list-sas stream as the driver's status() gives it, the conn named as ours are (link-<id>). */
function capturedStatus(): IkeSaState[] {
  const packets = new ViciStreamDecoder().push(fs.readFileSync(path.join(FIXTURES, 'list-sas-stream.bin')));
  return packets
    .filter((p) => p.type === PacketType.EVENT)
    .flatMap((p) => parseListSaEvent(p.message))
    .map((sa) => ({
      name: sa.name,
      state: sa.state,
      children: sa.childSas.map((c) => ({
        name: c.name.replace('link1', 'link-1'),
        state: c.state,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        packetsIn: c.packetsIn,
        packetsOut: c.packetsOut,
        localTs: c.localTs,
        remoteTs: c.remoteTs,
        ...(c.useIn !== undefined ? { useIn: c.useIn } : {}),
        ...(c.useOut !== undefined ? { useOut: c.useOut } : {}),
        ...(c.installTime !== undefined ? { installTime: c.installTime } : {}),
        ...(c.rekeyTime !== undefined ? { rekeyTime: c.rekeyTime } : {}),
      })),
    }));
}

const log = createLogger({ level: 'error' });

describe('list-sas figures (captured from charon 5.9.8)', () => {
  it('parses use-in/use-out, install-time and rekey-time of the CHILD_SA', () => {
    const packets = new ViciStreamDecoder().push(fs.readFileSync(path.join(FIXTURES, 'list-sas-stream.bin')));
    const [sa] = parseListSaEvent(packets.find((p) => p.type === PacketType.EVENT)!.message);
    expect(sa!.childSas[0]).toMatchObject({ bytesIn: 1302, bytesOut: 1400, packetsIn: 24, packetsOut: 26, useIn: 0, useOut: 0, installTime: 1, rekeyTime: 3423 });
  });

  it('sums a link\'s CHILD_SAs and takes the newest installed one\'s times', () => {
    const figures = saFigures(capturedStatus(), 'link-1');
    expect(figures).toEqual({ installed: true, bytesIn: 1302, bytesOut: 1400, packetsIn: 24, packetsOut: 26, idleIn: 0, idleOut: 0, installedFor: 1, rekeyIn: 3423 });
    // During a rekey the old SA (REKEYED) still counts its bytes, but its times do not.
    const [sa] = capturedStatus();
    const old = { ...sa!.children[0]!, state: 'REKEYED', bytesIn: 100, installTime: 3500, rekeyTime: undefined, useIn: 30 };
    delete (old as { rekeyTime?: number }).rekeyTime;
    const both = saFigures([{ ...sa!, children: [sa!.children[0]!, old] }], 'link-1');
    expect(both).toMatchObject({ installed: true, bytesIn: 1402, installedFor: 1, rekeyIn: 3423, idleIn: 0 });
  });

  it('reports a link without a CHILD_SA as not installed, with zero counters and no times', () => {
    expect(saFigures(capturedStatus(), 'link-other')).toEqual({ installed: false, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 });
  });
});

describe('RTT window', () => {
  it('gives the median of the last minute only', () => {
    const w = new RttWindow();
    expect(w.p50(0)).toBeUndefined();
    w.add(100, 0); // drops out of the window later
    w.add(3, 50_000);
    w.add(1, 55_000);
    w.add(2, 59_000);
    expect(w.p50(59_000)).toBe(2.5);
    expect(w.p50(61_000)).toBe(2);
  });

  it('counts intervals without an answer and resets at the first answer', () => {
    const t = new ProbeTrack();
    t.record({ sent: 3, rttsMs: [] }, 0);
    t.record({ sent: 3, rttsMs: [] }, 1);
    expect(t.failStreak).toBe(2);
    t.record({ sent: 3, rttsMs: [4, 6] }, 2);
    expect(t.failStreak).toBe(0);
    expect(t.rtt.p50(2)).toBe(5);
  });
});

describe('inner address', () => {
  it('finds the address inside the local networks, ignoring others and odd selectors', () => {
    expect(innerAddrFor(['10.1.0.0/24'], ['198.51.100.10', '10.1.0.1'])).toBe('10.1.0.1');
    expect(innerAddrFor(['10.1.0.0/24[tcp/80]', 'fd00::/64'], ['10.1.0.1', 'fd00::1'])).toBe('fd00::1');
    expect(innerAddrFor(['10.1.0.0/24'], ['10.2.0.1'])).toBeUndefined();
  });
});

describe('probe and responder (UDP on loopback)', () => {
  let responders: ProbeResponders | undefined;
  afterEach(() => responders?.close());

  it('times answered probes and counts unanswered ones', async () => {
    const port = 40_000 + Math.floor(Math.random() * 10_000);
    responders = new ProbeResponders(port, () => undefined);
    await responders.serve(new Set(['127.0.0.1']));
    const ok = await probe({ from: '127.0.0.1', to: '127.0.0.1', port, count: 3, spacingMs: 5, timeoutMs: 500 });
    expect(ok.sent).toBe(3);
    expect(ok.rttsMs).toHaveLength(3);
    for (const ms of ok.rttsMs) expect(ms).toBeLessThan(500);
    // Nothing listens on 127.0.0.2 at that port: no answer within the timeout.
    const none = await probe({ from: '127.0.0.1', to: '127.0.0.2', port, count: 2, spacingMs: 5, timeoutMs: 100 });
    expect(none).toEqual({ sent: 2, rttsMs: [] });
  });

  it('answers only probes (no other datagram, no amplification)', async () => {
    const { createSocket } = await import('node:dgram');
    const port = 40_000 + Math.floor(Math.random() * 10_000);
    responders = new ProbeResponders(port, () => undefined);
    await responders.serve(new Set(['127.0.0.1']));
    const s = createSocket('udp4');
    let answers = 0;
    s.on('message', () => answers++);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.send(Buffer.from('hello, please echo me back'), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    expect(answers).toBe(0);
  });
});

describe('HealthMonitor', () => {
  const link = (name: string): LinkConfig => ({ name, version: 1, localId: 'gw-a', remoteId: 'gw-b', localAddrs: ['%any'], remoteAddrs: ['203.0.113.20'], localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], initiator: true, psk: 'x'.repeat(32) });

  it('sends one frame for all links, probes only where a target is known, and counts failed intervals', async () => {
    const sent: unknown[] = [];
    let answer = false;
    const monitor = new HealthMonitor({
      intervalMs: 1000,
      probePort: 1,
      links: () => [link('link-1'), link('link-2'), link('not-ours')],
      status: async () => capturedStatus(),
      send: (frame) => (sent.push(frame), true),
      log,
      addrs: () => ['198.51.100.10'], // no inner address: no responder is opened (nothing to bind)
      probe: async (o) => ({ sent: o.count, rttsMs: answer ? [2, 4, 3] : [] }),
    });
    // Without an inner address nothing is probed.
    let frame = await monitor.tick();
    expect(frame.links.map((l) => l.probe)).toEqual([undefined, undefined]);
    monitor.stop();

    const probing = new HealthMonitor({
      intervalMs: 1000,
      probePort: 1,
      links: () => [link('link-1'), link('link-2'), link('not-ours')],
      status: async () => capturedStatus(),
      send: (f) => (sent.push(f), true),
      log,
      // Not on this host: the responder cannot bind it (and says so at debug level); probes are faked.
      addrs: () => ['10.1.0.1'],
      probe: async (o) => ({ sent: o.count, rttsMs: answer ? [2, 4, 3] : [] }),
    });
    probing.setTargets([{ name: 'link-1', addr: '10.2.0.1' }]);
    for (let i = 0; i < 3; i++) frame = await probing.tick();
    const [l1, l2] = frame.links;
    expect(frame.links).toHaveLength(2); // a name that is not a link's is not reported
    expect(l1).toMatchObject({ name: 'link-1', installed: true, innerAddr: '10.1.0.1', probe: { sent: 3, answered: 0, failStreak: 3, target: '10.2.0.1' } });
    // link-2 has no CHILD_SA and no target: counters only.
    expect(l2).toEqual({ name: 'link-2', installed: false, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, innerAddr: '10.1.0.1' });
    answer = true;
    frame = await probing.tick();
    expect(frame.links[0]!.probe).toMatchObject({ answered: 3, failStreak: 0, rttP50Ms: 3 });
    // Every frame is within the protocol.
    for (const f of sent) expect(AgentFrame.safeParse(f).success).toBe(true);
    probing.stop();
  });

  it('the protocol bounds what a report may say', () => {
    const base = { name: 'link-1', installed: true, bytesIn: 1, bytesOut: 1, packetsIn: 1, packetsOut: 1 };
    expect(LinkHealthReport.safeParse(base).success).toBe(true);
    expect(LinkHealthReport.safeParse({ ...base, name: 'not-a-link' }).success).toBe(false);
    expect(LinkHealthReport.safeParse({ ...base, bytesIn: -1 }).success).toBe(false);
    expect(LinkHealthReport.safeParse({ ...base, innerAddr: 'example.com' }).success).toBe(false);
    expect(LinkHealthReport.safeParse({ ...base, probe: { sent: 5000, answered: 0, failStreak: 0, target: '10.0.0.1' } }).success).toBe(false);
    const many = { type: 'health', intervalMs: 1000, at: new Date().toISOString(), links: Array.from({ length: 1001 }, () => base) };
    expect(AgentFrame.safeParse(many).success).toBe(false);
  });
});
