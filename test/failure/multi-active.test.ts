// Multi-active controllers: two real controller processes (`node --import tsx controller/main.ts`,
// every role) share one Temporal server and one PostgreSQL database. Agents are given both URLs and spread
// over them; a link between gateways held by different controllers comes up (its agent calls go
// to each holder's own task queue). Then one controller is killed with SIGKILL: its agents must
// reconnect to the survivor within seconds (measured and bounded), and the link operations that
// were pending at the moment of the kill (a create and a delete, both sent to the victim's API
// just before) must complete on the survivor.
//
// Last, a clean stop (SIGTERM, as a rolling restart does) of the controller then holding every
// agent: it must exit 0 promptly and its agents must move to a replacement.
//
// Agents are the production Agent class in the test process over FakeIpsecNetwork (no charon
// needed), with the test backoff (50-500 ms). Killing the controller closes the agents' TCP
// connections at once, so the figure measures reconnect + hello + presence, not dead-peer
// detection (that is the heartbeat watchdog's job, 2.5 heartbeats).
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, removeDir, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { pgAvailable } from '../helpers/db';
import { missing, withStack } from '../helpers/with-stack';
import type { GatewayListBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { LogDir, dumpLogsOnFailure, startControllerProc, waitFor, type ControllerProc } from '../helpers/procs';
import { newSecretKey } from '../../lib/crypto';

const pg = await pgAvailable();
// Both controllers are processes of their own, on one PostgreSQL database.
const needs = { temporal: true, db: 'postgresql', name: 'fail-ma' } as const;
const reason = missing(needs, 'multi-active failure test') ?? (pg ? undefined : 'PostgreSQL is not available (see the warning above)');

const AGENTS = 6;
const FAILOVER_BOUND_MS = 10_000;
/** How long a clean stop may take before the test gives up on it (main.ts forces an exit at 20 s). */
const STOP_WAIT_MS = 25_000;

/** "type@+ms" for each event since `t0`, to show where a link's time went. */
const timeline = (l: LinkWithEventsBody, t0: number) => l.events.filter((e) => Date.parse(e.at) >= t0 - 5_000).map((e) => `${e.type}@${Date.parse(e.at) - t0 >= 0 ? '+' : ''}${Date.parse(e.at) - t0}`).join(' ');

describe.skipIf(reason)('two active controllers, one killed', () => {
  const s = withStack(needs);
  let logs: LogDir;
  let ctlA: ControllerProc;
  let ctlB: ControllerProc;
  const retired: ControllerProc[] = [];
  const secretKey = newSecretKey();
  const net = new FakeIpsecNetwork();
  /** Gateway id → its agent (replaced when an agent is restarted). */
  const agents = new Map<string, TestAgent>();
  const stopped: TestAgent[] = [];
  const gws: RegisteredGatewayBody[] = [];
  const ipOf = (i: number) => `198.51.100.${181 + i}`;
  let l1 = '';

  beforeAll(async () => {
    logs = new LogDir('fail-ma');
    await s.db.db.$disconnect();
    s.onClose(async () => {
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await Promise.all([ctlA, ctlB, ...retired].map((c) => c?.stop()));
      await Promise.all([...agents.values(), ...stopped].map((a) => removeDir(a.stateDir)));
      logs.remove();
    });
    const common = { logs, temporalAddress: s.temporal.address, temporalNamespace: s.temporal.namespace, databaseUrl: s.db.url, taskQueue: s.taskQueue, secretKey, heartbeatMs: 1000 };
    [ctlA, ctlB] = await Promise.all([startControllerProc({ ...common, name: 'ctl-a' }), startControllerProc({ ...common, name: 'ctl-b' })]);
  });

  const live = () => (ctlA.running() ? ctlA : ctlB);
  const gateways = async () => (await live().api<GatewayListBody>('GET', '/api/gateways')).body.gateways;
  const linkOf = async (id: string) => (await live().api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;
  const holders = async () => new Map((await gateways()).map((g) => [g.id, g.online ? g.controller : null]));

  async function startAgent(i: number, stateDir?: string): Promise<void> {
    const g = gws[i]!;
    const a = await startTestAgent({ controllerUrl: [ctlA.agentUrl!, ctlB.agentUrl!], gatewayId: g.id, secret: g.agentSecret, driver: net.drivers.get(ipOf(i)) ?? net.driver(ipOf(i)), publicIp: ipOf(i), ...(stateDir ? { stateDir } : {}) });
    agents.set(g.id, a);
  }

  it('spreads agents over both controllers and links gateways held by different ones', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    for (let i = 0; i < AGENTS; i++) {
      const r = await ctlA.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `ma-${i}`, provider: 'onprem', cidrs: [`10.${181 + i}.0.0/24`], publicIp: ipOf(i) });
      expect(r.status).toBe(201);
      gws.push(r.body);
    }
    for (let i = 0; i < AGENTS; i++) await startAgent(i);
    // Every agent held by one of the two. Polled: with a 1 s heartbeat on a loaded machine, an
    // agent's presence can lapse for a moment between two reads.
    const allHeld = async () => {
      await expect.poll(async () => [...(await holders()).values()].every((h) => h !== null), { timeout: 15_000 }).toBe(true);
      return holders();
    };
    await allHeld();
    // Agents pick a controller at random; with few agents all may land on one. Restart agents of
    // the busier controller (each restart is a new random pick) until both hold some.
    let restarts = 0;
    for (;;) {
      const h = await allHeld();
      const onA = [...h].filter(([, c]) => c === ctlA.instanceId).map(([id]) => id);
      const onB = [...h].filter(([, c]) => c === ctlB.instanceId).map(([id]) => id);
      expect(onA.length + onB.length).toBe(AGENTS);
      if (onA.length > 0 && onB.length > 0) break;
      expect(restarts).toBeLessThan(20);
      const id = (onA.length > 0 ? onA : onB)[0]!;
      const old = agents.get(id)!;
      await old.stop();
      stopped.push(old);
      await startAgent(gws.findIndex((g) => g.id === id), old.stateDir);
      restarts++;
      await expect.poll(async () => (await holders()).get(id), { timeout: 10_000 }).not.toBeNull();
    }
    const h = await allHeld();
    console.log(`[multi-active] placement: ${[...h.values()].filter((c) => c === ctlA.instanceId).length} agents on ${ctlA.instanceId}, ${[...h.values()].filter((c) => c === ctlB.instanceId).length} on ${ctlB.instanceId} (${restarts} agent restarts to spread)`);

    const onA = gws.find((g) => h.get(g.id) === ctlA.instanceId)!;
    const onB = gws.find((g) => h.get(g.id) === ctlB.instanceId)!;
    const r = await ctlB.api<LinkBody>('POST', '/api/links', { a: onA.id, b: onB.id });
    expect(r.status).toBe(202);
    l1 = r.body.id;
    await expect.poll(async () => (await linkOf(l1)).state, { timeout: 30_000 }).toBe('up');
  });

  it('SIGKILL of one controller: its agents move to the other within seconds and pending link operations complete', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    expect(l1).not.toBe('');
    const before = await holders();
    // Kill the controller holding more agents (the harder case); the other survives.
    const countOn = (c: ControllerProc) => [...before.values()].filter((x) => x === c.instanceId).length;
    const [victim, survivor] = countOn(ctlA) >= countOn(ctlB) ? [ctlA, ctlB] : [ctlB, ctlA];
    const moved = gws.filter((g) => before.get(g.id) === victim.instanceId);
    const stayed = gws.filter((g) => before.get(g.id) === survivor.instanceId);
    expect(moved.length).toBeGreaterThan(0);
    // A new link across the two controllers and the delete of the first link, both sent to the
    // victim's API right before it dies. The victim holds at least half the agents, so x is not
    // the first link's end there (moved[0]).
    const [x, y] = [moved[moved.length - 1]!, stayed[stayed.length - 1]!];
    const create = await victim.api<LinkBody>('POST', '/api/links', { a: x.id, b: y.id });
    expect(create.status).toBe(202);
    const l2 = create.body.id;
    expect((await victim.api('DELETE', `/api/links/${l1}`)).status).toBe(202);

    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    // Failover: every agent the victim held is online on the survivor.
    const failoverMs = await waitFor(
      'every agent of the killed controller to be online on the survivor',
      async () => {
        const h = await holders();
        return moved.every((g) => h.get(g.id) === survivor.instanceId) ? Date.now() - killedAt : undefined;
      },
      30_000,
      25,
    );
    console.log(`[multi-active] ${moved.length} agents failed over from ${victim.instanceId} to ${survivor.instanceId} in ${failoverMs} ms (bound ${FAILOVER_BOUND_MS} ms)`);
    expect(failoverMs).toBeLessThan(FAILOVER_BOUND_MS);
    expect([...(await holders()).values()].every((c) => c === survivor.instanceId)).toBe(true);

    // The operations pending at the kill complete on the survivor.
    const settled = await waitFor(
      'the pending create and delete to settle',
      async () => {
        const [a, b] = await Promise.all([linkOf(l2), linkOf(l1)]);
        const done = (a.state === 'up' || a.state === 'failed') && (b.state === 'deleted' || b.state === 'failed');
        return done ? { l2: a, l1: b } : undefined;
      },
      90_000,
      200,
    );
    console.log(`[multi-active] pending create → ${settled.l2.state}, pending delete → ${settled.l1.state}, ${Date.now() - killedAt} ms after the kill`);
    console.log(`[multi-active] events relative to the kill: create: ${timeline(settled.l2, killedAt)}; delete: ${timeline(settled.l1, killedAt)}`);
    expect(settled.l2.state).toBe('up');
    expect(settled.l1.state).toBe('deleted');
    // And the survivor alone keeps serving: a new link between two gateways that moved comes up.
    if (moved.length >= 2) {
      const z = moved.find((g) => g.id !== x.id)!;
      const r = await survivor.api<LinkBody>('POST', '/api/links', { a: z.id, b: x.id });
      expect(r.status).toBe(202);
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    }
  }, 180_000);

  it('a controller stopped with SIGTERM (rolling restart) exits cleanly at once and its agents move on', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const dead = ctlA.running() ? ctlB : ctlA;
    const holder = ctlA.running() ? ctlA : ctlB;
    expect([...(await holders()).values()].every((c) => c === holder.instanceId)).toBe(true);
    // The replacement comes up where the dead one was, so the agents' URL list reaches it.
    const replacement = await startControllerProc({ name: 'ctl-c', logs, agentPort: dead.agentPort!, temporalAddress: s.temporal.address, temporalNamespace: s.temporal.namespace, databaseUrl: s.db.url, taskQueue: s.taskQueue, secretKey, heartbeatMs: 1000 });
    retired.push(dead);
    if (dead === ctlA) ctlA = replacement;
    else ctlB = replacement;
    const t0 = Date.now();
    process.kill(-holder.pid, 'SIGTERM');
    // Bounded: a stop that hangs is the failure to report, then the process is killed so the rest
    // can still be measured.
    const exit = await Promise.race([holder.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), STOP_WAIT_MS))]);
    const stopMs = Date.now() - t0;
    if (!exit) await holder.kill('SIGKILL');
    const moveMs = await waitFor(
      'every agent to be online on the replacement',
      async () => {
        const h = new Map(((await replacement.api<GatewayListBody>('GET', '/api/gateways')).body.gateways).map((g) => [g.id, g.online ? g.controller : null]));
        return gws.every((g) => h.get(g.id) === replacement.instanceId) ? Date.now() - t0 : undefined;
      },
      40_000,
      50,
    );
    console.log(
      `[multi-active] SIGTERM: ${exit ? `controller exited with code ${exit.code} (signal ${exit.signal}) after ${stopMs} ms` : `controller still running ${stopMs} ms later (then SIGKILLed)`}; ` +
        `its ${gws.length} agents online on the replacement ${moveMs} ms after the SIGTERM`,
    );
    expect(exit, `exit of the controller within ${STOP_WAIT_MS} ms of SIGTERM; its log: ${holder.logFile}`).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(5_000);
    expect(moveMs).toBeLessThan(FAILOVER_BOUND_MS);
  }, 90_000);
});
