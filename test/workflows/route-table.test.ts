// The route-table workflow on its own (TestWorkflowEnvironment): requests from several links, queued
// while the table is busy, go out as one batch call and one wait; kinds and destinations are kept
// apart; a route the cloud refuses fails only its own request; every requester gets its answer
// once. The cloud is a fake Alibaba Cloud route table behind the cloud activities' contract:
// asynchronous entries (Pending for a read, then Available), per-route results in batch calls,
// failures shaped by the real toFailure.
import { describe, expect, it } from 'vitest';
import { toFailure } from '../../activities/cloud';
import { resultDelivery } from '../../activities/cloud-store';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { budgetQueue } from '../../cloud/queues';
import { CloudError, type RouteSpec, type RouteState } from '../../cloud/types';
import { routeOpSignal, routeTableWorkflowId, type RouteOp } from '../../contracts/cloud-objects';
import { temporalCliAvailable } from '../helpers/temporal';
import { withWorkflowEnv } from '../helpers/workflow-env';
import { repliesQuery, type Reply } from './collector';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`route table workflow tests skipped: ${cli.reason}`);

const ref = { provider: 'aliyun' as const, accountId: 'acc1', region: 'cn-hangzhou' };
const TABLE = 'vtb-1';

/** One Alibaba route table: entries are Pending for one read after a write, then Available; deletes likewise. */
class FakeTable {
  readonly log: string[] = [];
  private readonly entries = new Map<string, { instanceId: string; status: string; readsLeft: number }>();
  /** The cloud refuses a route for good (a quota, an invalid CIDR): that route alone. */
  refuse?: (route: RouteSpec) => CloudError | undefined;

  /** An entry that predates the links (someone's route, or ours from before). */
  seed(destinationCidr: string, instanceId: string): void {
    this.entries.set(destinationCidr, { instanceId, status: 'Available', readsLeft: 0 });
  }

  has(destinationCidr: string): string | undefined {
    return this.entries.get(destinationCidr)?.instanceId;
  }

  private create(route: RouteSpec): { outcome: 'created' } | { error: CloudError } {
    const refused = this.refuse?.(route);
    if (refused) return { error: refused };
    if (this.entries.has(route.destinationCidr)) return { error: new CloudError('conflict', `The route entry ${route.destinationCidr} already exists.`, 'RouteConflict.AlreadyExist') };
    this.entries.set(route.destinationCidr, { instanceId: route.instanceId, status: 'Pending', readsLeft: 1 });
    return { outcome: 'created' };
  }

  private remove(route: RouteSpec): 'deleted' | 'absent' {
    const entry = this.entries.get(route.destinationCidr);
    if (!entry) return 'absent';
    Object.assign(entry, { status: 'Deleting', readsLeft: 1 });
    return 'deleted';
  }

  /** A read: what the table shows now; changes under way settle as reads go by. */
  private read(destinationCidr: string): RouteState | undefined {
    const entry = this.entries.get(destinationCidr);
    if (!entry) return undefined;
    const shown = { status: entry.status, instanceId: entry.instanceId, nextHop: entry.instanceId };
    if (entry.readsLeft > 0 && --entry.readsLeft === 0) {
      if (entry.status === 'Deleting') this.entries.delete(destinationCidr);
      else entry.status = 'Available';
    }
    return shown;
  }

  activities() {
    type Call = { accountId: string; region: string };
    return {
      cloudCreateRoutes: async (p: Call & { routes: RouteSpec[] }) => {
        this.log.push(`CreateRouteEntries ${p.routes.map((r) => r.destinationCidr).join(' ')}`);
        const results = p.routes.map((r) => {
          const done = this.create(r);
          return 'outcome' in done ? done : { error: { kind: done.error.kind, message: done.error.message, ...(done.error.providerCode ? { providerCode: done.error.providerCode } : {}) } };
        });
        return { results, attempt: 1 };
      },
      cloudCreateRoute: async (p: Call & { route: RouteSpec; clientToken: string }) => {
        this.log.push(`CreateRouteEntry ${p.route.destinationCidr}`);
        const done = this.create(p.route);
        if ('error' in done) return toFailure(done.error, `route ${p.route.destinationCidr} in ${p.route.routeTableId}`);
        return done.outcome;
      },
      cloudDeleteRoutes: async (p: Call & { routes: RouteSpec[] }) => {
        this.log.push(`DeleteRouteEntries ${p.routes.map((r) => r.destinationCidr).join(' ')}`);
        return p.routes.map((r) => ({ outcome: this.remove(r) }));
      },
      cloudDeleteRoute: async (p: Call & { route: RouteSpec }) => {
        this.log.push(`DeleteRouteEntry ${p.route.destinationCidr}`);
        return this.remove(p.route);
      },
      cloudGetRoute: async (p: Call & { route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'> }) => {
        this.log.push(`DescribeRouteEntryList ${p.route.destinationCidr}`);
        return this.read(p.route.destinationCidr) ?? null;
      },
      cloudListRoutes: async (_p: Call & { routeTableId: string }) => {
        this.log.push('DescribeRouteEntryList *');
        return [...this.entries.keys()].flatMap((destinationCidr) => {
          const shown = this.read(destinationCidr);
          return shown ? [{ ...shown, destinationCidr }] : [];
        });
      },
    };
  }
}

describe.skipIf(!cli.ok)('route table workflow (TestWorkflowEnvironment, fake cloud)', () => {
  const wf = withWorkflowEnv();

  /**
   * Queues `ops` with the table's workflow before any worker runs (so they wait together, as they
   * do behind a busy table), then runs it until `expected` replies reached the requester.
   */
  type Ask = Pick<RouteOp, 'requestId' | 'op'> & { cidr: string; instanceId?: string };
  type Then = { send: (op: Ask) => Promise<void>; replies: () => Promise<Reply[]>; history: () => ReturnType<WorkflowHandle['fetchHistory']> };
  async function run(table: FakeTable, ops: Ask[], expected: number, more?: (then: Then) => Promise<void>) {
    const queue = wf.unique('rtb');
    const replyTo = wf.unique('requester');
    const toOp = (o: Ask): RouteOp => ({
      requestId: o.requestId,
      op: o.op,
      ref,
      route: { routeTableId: TABLE, destinationCidr: o.cidr, instanceId: o.instanceId ?? 'i-gw' },
      clientToken: `token-${o.requestId}`,
      replyTo,
      baseQueue: queue,
    });
    const workflowId = routeTableWorkflowId({ ...ref, accountId: queue }, TABLE);
    const requester = await wf.client.workflow.start('replyCollector', { taskQueue: queue, workflowId: replyTo });
    const [first, ...rest] = ops.map(toOp);
    const handle = await wf.client.workflow.signalWithStart('routeTableWorkflow', { taskQueue: queue, workflowId, args: [{}], signal: routeOpSignal, signalArgs: [first!] });
    for (const op of rest) await handle.signal(routeOpSignal, op);
    const replies = () => requester.query(repliesQuery);
    const activities = table.activities();
    try {
      return await wf.withWorkers(
        [
          // The table's answers leave through the real deliverResults (a local activity), signalling the collector.
          { taskQueue: queue, workflows: true, activities: resultDelivery(() => wf.client) },
          { taskQueue: budgetQueue(queue, { ...ref, api: 'routeWrite' }), activities },
          { taskQueue: budgetQueue(queue, { ...ref, api: 'routeRead' }), activities },
        ],
        async () => {
          await expect.poll(async () => (await replies()).length, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(expected);
          await more?.({ send: (op) => handle.signal(routeOpSignal, toOp(op)), replies, history: () => handle.fetchHistory() });
          return replies();
        },
      );
    } finally {
      await Promise.allSettled([handle.terminate(), requester.terminate()]);
    }
  }

  const byId = (replies: Reply[]) => Object.fromEntries(replies.map((r) => [r.requestId, r.ok ? r.outcome : `${String(r.kind)}: ${String(r.message)}`]));

  it('writes what queued up together in one batch call and one wait, and answers every requester', async () => {
    const table = new FakeTable();
    const replies = await run(table, [
      { requestId: 'l1:1:create', op: 'create', cidr: '10.1.0.0/24' },
      { requestId: 'l2:1:create', op: 'create', cidr: '10.2.0.0/24' },
      { requestId: 'l3:1:create', op: 'create', cidr: '10.3.0.0/24' },
    ], 3);
    // One write, then reads of the whole table until every entry is Available (one Pending read).
    expect(table.log).toEqual(['CreateRouteEntries 10.1.0.0/24 10.2.0.0/24 10.3.0.0/24', 'DescribeRouteEntryList *', 'DescribeRouteEntryList *']);
    expect(byId(replies)).toEqual({ 'l1:1:create': 'created', 'l2:1:create': 'created', 'l3:1:create': 'created' });
    expect(replies.every((r) => r.signal === 'routeResult')).toBe(true);
  });

  it('never mixes creates and deletes, nor two requests for one destination, in one call', async () => {
    const table = new FakeTable();
    table.seed('10.5.0.0/24', 'i-gw');
    const replies = await run(table, [
      { requestId: 'l1:1:create', op: 'create', cidr: '10.1.0.0/24' },
      { requestId: 'l2:1:create', op: 'create', cidr: '10.2.0.0/24' },
      // Another link routing the same destination to the same gateway: after the first, not with it.
      { requestId: 'l9:1:create', op: 'create', cidr: '10.1.0.0/24' },
      { requestId: 'l5:1:delete', op: 'delete', cidr: '10.5.0.0/24' },
    ], 4);
    expect(table.log.filter((l) => !l.startsWith('Describe'))).toEqual(['CreateRouteEntries 10.1.0.0/24 10.2.0.0/24', 'CreateRouteEntry 10.1.0.0/24', 'DeleteRouteEntry 10.5.0.0/24']);
    // The duplicate already points at the same gateway: 'exists' (kept when that link goes), not an error.
    expect(byId(replies)).toEqual({ 'l1:1:create': 'created', 'l2:1:create': 'created', 'l9:1:create': 'exists', 'l5:1:delete': 'deleted' });
    expect(table.has('10.5.0.0/24')).toBeUndefined();
  });

  it('a route the cloud refuses fails only its own request, with the provider\'s words; someone else\'s route is not overwritten', async () => {
    const table = new FakeTable();
    table.seed('10.7.0.0/24', 'i-someone-else');
    table.refuse = (r) => (r.destinationCidr === '10.8.0.0/24' ? new CloudError('quota', 'Route entry quota exceeded in this route table.', 'QuotaExceeded') : undefined);
    const replies = await run(table, [
      { requestId: 'l1:1:create', op: 'create', cidr: '10.1.0.0/24' },
      { requestId: 'l7:1:create', op: 'create', cidr: '10.7.0.0/24' },
      { requestId: 'l8:1:create', op: 'create', cidr: '10.8.0.0/24' },
    ], 3);
    expect(byId(replies)).toEqual({
      'l1:1:create': 'created',
      'l7:1:create': expect.stringMatching(/^conflict: route 10\.7\.0\.0\/24 in vtb-1 already exists with next hop i-someone-else \(not this gateway\)/) as string,
      'l8:1:create': 'quota: route 10.8.0.0/24 in vtb-1: Route entry quota exceeded in this route table.',
    });
    expect(replies.find((r) => r.requestId === 'l8:1:create')).toMatchObject({ ok: false, providerCode: 'QuotaExceeded' });
    expect(table.has('10.7.0.0/24')).toBe('i-someone-else');
  });

  it('answers a repeated request once while it is under way, and again (without a new call) after it succeeded', async () => {
    const table = new FakeTable();
    const ask = { requestId: 'l1:1:create', op: 'create' as const, cidr: '10.1.0.0/24' };
    const replies = await run(table, [ask, ask], 1, async ({ send, replies: read }) => {
      // The link asks again later (it provisions anew after a failure elsewhere): the same answer.
      await send(ask);
      await expect.poll(async () => (await read()).length, { timeout: 10_000, interval: 50 }).toBe(2);
    });
    expect(replies.map((r) => [r.requestId, r.outcome])).toEqual([['l1:1:create', 'created'], ['l1:1:create', 'created']]);
    expect(table.log.filter((l) => l.startsWith('Create'))).toEqual(['CreateRouteEntry 10.1.0.0/24']);
  });

  it("answers a batch with one local activity: the table's history holds no signal of its own", async () => {
    const table = new FakeTable();
    const { EventType } = temporal.api.enums.v1;
    const count = (events: Array<{ eventType?: unknown }>, ...types: number[]) => events.filter((event) => types.includes(Number(event.eventType))).length;
    await run(table, [1, 2, 3].map((n) => ({ requestId: `l${n}:1:create`, op: 'create' as const, cidr: `10.${n}.0.0/24` })), 3, async ({ history }) => {
      // The answers are out while the activity runs; its marker is written when the task completes.
      await expect.poll(async () => count((await history()).events ?? [], EventType.EVENT_TYPE_MARKER_RECORDED), { timeout: 10_000, interval: 50 }).toBe(1);
      const events = (await history()).events ?? [];
      expect(count(events, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)).toBe(0);
    });
    // One batch call, one marker for its three answers.
    expect(table.log.filter((l) => l.startsWith('Create'))).toEqual(['CreateRouteEntries 10.1.0.0/24 10.2.0.0/24 10.3.0.0/24']);
  });
});

describe.skipIf(!cli.ok)('deliverResults (the answers of a serialising workflow)', () => {
  const wf = withWorkflowEnv();

  it('signals each requester, counts one that is gone as answered, and returns the positions Temporal refused', async () => {
    const queue = wf.unique('delivery');
    const replyTo = wf.unique('requester');
    const delivery = resultDelivery(() => wf.client);
    await wf.withWorkers([{ taskQueue: queue, workflows: true }], async () => {
      const requester = await wf.client.workflow.start('replyCollector', { taskQueue: queue, workflowId: replyTo });
      try {
        // Over the server's 2 MB payload limit: Temporal refuses that signal (not a missing requester).
        const huge = { requestId: 'r3', ok: false, message: 'x'.repeat(2_500_000) };
        const undelivered = await delivery.deliverResults({
          signal: 'ruleResult',
          replies: [
            { replyTo, result: { requestId: 'r1', ok: true } as { requestId: string } },
            { replyTo: wf.unique('gone'), result: { requestId: 'r2', ok: true } as { requestId: string } },
            { replyTo, result: huge },
          ],
        });
        expect(undelivered).toEqual([2]);
        await expect.poll(async () => (await requester.query(repliesQuery)).map((r) => [r.signal, r.requestId]), { timeout: 10_000 }).toEqual([['ruleResult', 'r1']]);
      } finally {
        await requester.terminate();
      }
    });
    await expect(delivery.deliverResults({ signal: 'delete' as never, replies: [] })).rejects.toThrow(/not a result signal/);
    await expect(resultDelivery(undefined).deliverResults({ signal: 'routeResult', replies: [] })).rejects.toThrow(/no Temporal client/);
  });
});
