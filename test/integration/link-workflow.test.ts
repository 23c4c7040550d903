// The link workflow end to end through the real API, hub, agents and a real Temporal server, with
// strongSwan replaced by FakeIpsecNetwork (the e2e suite runs the same path with real charon).
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { replayDataConverter } from '../helpers/controller';
import { startTestAgent } from '../helpers/agents';
import { missing, withStack } from '../helpers/with-stack';
import type { LinkBody, LinkWithEventsBody } from '../helpers/api-harness';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';

const needs = { controller: { temporalUiUrl: 'http://127.0.0.1:8233' }, agents: true, name: 'links' } as const;

describe.skipIf(missing(needs, 'link workflow tests'))('link workflow (real Temporal, fake strongSwan)', () => {
  const s = withStack(needs);
  const gateway = (name: string, cidr: string) => s.gateway(name, [cidr]);
  const runAgent = (g: { id: string; agentSecret: string }, address: string) => s.agent(g, address);

  const linkState = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

  it('creates a link: config on both ends, tunnel up, every step recorded', async () => {
    const a = await gateway('site-a', '10.1.0.0/24');
    const b = await gateway('site-b', '10.2.0.0/24');
    await runAgent(a, '198.51.100.11');
    await runAgent(b, '198.51.100.12');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ state: 'provisioning', workflowId: `link-${r.body.id}` });
    expect(r.body.workflowUrl).toBe(`http://127.0.0.1:8233/namespaces/${s.temporal.namespace}/workflows/link-${r.body.id}`);
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 15_000 }).toBe('up');
    const link = await linkState(r.body.id);
    expect(link.events.map((e) => e.type)).toEqual(expect.arrayContaining(['link.requested', 'config.pushed', 'link.up']));
    expect(link.events.filter((e) => e.type === 'config.pushed')).toHaveLength(2);
    await expect.poll(async () => (await linkState(r.body.id)).a.tunnelUp && (await linkState(r.body.id)).b.tunnelUp).toBe(true);
    const da = s.net.drivers.get('198.51.100.11')!;
    const db = s.net.drivers.get('198.51.100.12')!;
    const name = `link-${r.body.id}`;
    expect(da.installed.has(name) && db.installed.has(name)).toBe(true);
    // The PSK reached both ends but never the API or the workflow history.
    expect(da.conns.get(name)!.psk).toBe(db.conns.get(name)!.psk);
    expect(JSON.stringify(link)).not.toContain(da.conns.get(name)!.psk);
    const history = await s.ctl.client.workflow.getHandle(r.body.workflowId).fetchHistory();
    expect(JSON.stringify(history)).not.toContain(da.conns.get(name)!.psk);
    // Side a (both on-prem) initiates.
    expect(da.calls).toContain(`initiate ${name}`);
    expect(db.calls).not.toContain(`initiate ${name}`);
    // The initiator's own report of the CHILD_SA repeats what `initiate` answered: only the
    // responder's report reaches the workflow (gateway-hub/tunnel-echo.ts).
    const reports = history.events!.filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'tunnel');
    expect(reports).toHaveLength(1);
  });

  it("fails at once with charon's reason when the initiator refuses the config sent with its initiate", async () => {
    const a = await gateway('site-r1', '10.61.0.0/24');
    const b = await gateway('site-r2', '10.62.0.0/24');
    await runAgent(a, '198.51.100.61');
    await runAgent(b, '198.51.100.62');
    const da = s.net.drivers.get('198.51.100.61')!;
    da.refuse = () => 'unknown interface xfrm9';
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 15_000 }).toBe('failed');
    const link = await linkState(r.body.id);
    const name = `link-${r.body.id}`;
    expect(link.stateReason).toMatch(new RegExp(`^config push to ${a.id}: .*loading connection '${name}' failed: unknown interface xfrm9`));
    // Side a initiates: its config went with the initiate, was refused, and nothing was dialled.
    expect(da.calls).toContain(`apply ${name}`);
    expect(da.calls).not.toContain(`initiate ${name}`);
    expect(link.events.filter((e) => e.type === 'config.pushed').map((e) => e.data?.gatewayId)).toEqual([b.id]);
    expect(link.events.at(-1)?.type).toBe('link.failed');
    // One initiateLink, failed for good (ConfigRejected): not retried as a failed initiation.
    const history = await s.ctl.client.workflow.getHandle(r.body.workflowId).fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'initiateLink');
    expect(scheduled).toHaveLength(1);
    const failure = history.events!.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes?.failure;
    expect(failure?.applicationFailureInfo).toMatchObject({ type: 'ConfigRejected', nonRetryable: true });
  });

  it('waits for an offline agent instead of failing, and finishes once it connects', async () => {
    const a = await gateway('site-c', '10.3.0.0/24');
    const b = await gateway('site-d', '10.4.0.0/24');
    await runAgent(a, '198.51.100.13');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await linkState(r.body.id)).events.some((e) => e.type === 'gateway.waiting'), { timeout: 10_000 }).toBe(true);
    await new Promise((res) => setTimeout(res, 1500));
    expect((await linkState(r.body.id)).state).toBe('provisioning');
    await runAgent(b, '198.51.100.14');
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 20_000 }).toBe('up');
  });

  it('deletes a link: both ends torn down, history kept, the pair can be linked again', async () => {
    const a = await gateway('site-e', '10.5.0.0/24');
    const b = await gateway('site-f', '10.6.0.0/24');
    await runAgent(a, '198.51.100.15');
    await runAgent(b, '198.51.100.16');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 15_000 }).toBe('up');
    const del = await s.api<LinkBody>('DELETE', `/api/links/${r.body.id}`);
    expect(del.status).toBe(202);
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 15_000 }).toBe('deleted');
    const name = `link-${r.body.id}`;
    expect(s.net.drivers.get('198.51.100.15')!.conns.has(name)).toBe(false);
    expect(s.net.drivers.get('198.51.100.16')!.conns.has(name)).toBe(false);
    const after = await linkState(r.body.id);
    expect(after.events.map((e) => e.type)).toEqual(expect.arrayContaining(['link.up', 'link.deleting', 'config.removed', 'link.deleted']));
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(409);
    const again = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    expect(again.status).toBe(202);
    await expect.poll(async () => (await linkState(again.body.id)).state, { timeout: 15_000 }).toBe('up');
    await s.ctl.client.workflow.getHandle(r.body.workflowId).result();

    // Replay the finished workflow's real history against the current code: it must be deterministic.
    const history = await s.ctl.client.workflow.getHandle(r.body.workflowId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: s.temporal.bundle, dataConverter: replayDataConverter() }, history, r.body.workflowId);
    if (process.env.UPDATE_HISTORIES) {
      const dir = path.join(__dirname, '..', 'fixtures', 'histories');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'link-create-delete.json'), historyToJSON(history));
    }
  });

  it('replays the committed history of an earlier version (no non-determinism for running links)', async () => {
    const file = path.join(__dirname, '..', 'fixtures', 'histories', 'link-create-delete.json');
    const history = historyFromJSON(JSON.parse(await readFile(file, 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: s.temporal.bundle, dataConverter: replayDataConverter() }, history, 'link-fixture');
  });

  it('re-applies saved links when an agent restarts and charon lost its config', async () => {
    const a = await gateway('site-g', '10.7.0.0/24');
    const b = await gateway('site-h', '10.8.0.0/24');
    const agentA = await runAgent(a, '198.51.100.17');
    await runAgent(b, '198.51.100.18');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    await expect.poll(async () => (await linkState(r.body.id)).state, { timeout: 15_000 }).toBe('up');
    const name = `link-${r.body.id}`;
    const da = s.net.drivers.get('198.51.100.17')!;
    // Agent a stops; "charon" restarts empty; the agent starts again pointed at a dead controller.
    await agentA.stop();
    da.conns.clear();
    da.installed.clear();
    s.net.drivers.get('198.51.100.18')!.installed.delete(name);
    const offline = await startTestAgent({ controllerUrl: 'http://127.0.0.1:1', gatewayId: a.id, secret: a.agentSecret, driver: da, publicIp: '198.51.100.17', stateDir: agentA.stateDir });
    s.onClose(() => offline.stop());
    await expect.poll(() => da.installed.has(name), { timeout: 5000 }).toBe(true);
  });
});
