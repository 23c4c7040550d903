// WORKFLOW_STACK_TRACES: the SDK's per-promise stack capture (the Temporal UI's "Stack Trace" tab)
// is off unless asked for, through the patch in patches/ that `npm install` applies. Off, the query
// is refused ("Workflow stack traces are not enabled on this worker", sealed like every failure);
// on, it shows where a waiting link workflow waits.
import { afterEach, describe, expect, it } from 'vitest';
import { linkWorkflowId } from '../../contracts/link-workflow';
import { temporalCliAvailable } from '../helpers/temporal';
import { withWorkflowEnv } from '../helpers/workflow-env';
import { FakeLinkWorld } from './link-fakes';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`stack trace tests skipped: ${cli.reason}`);

describe.skipIf(!cli.ok)('workflow stack traces (WORKFLOW_STACK_TRACES)', () => {
  const wf = withWorkflowEnv();
  const saved = process.env.WORKFLOW_STACK_TRACES;
  afterEach(() => {
    if (saved === undefined) delete process.env.WORKFLOW_STACK_TRACES;
    else process.env.WORKFLOW_STACK_TRACES = saved;
  });

  /** The stack trace query's answer for a link waiting for its offline end (b), from fresh workers. */
  async function stackOfWaitingLink(): Promise<string> {
    const queue = wf.unique('stack');
    const hubQueue = `${queue}.hub.h1`;
    const world = new FakeLinkWorld({ hubQueue, client: wf.client });
    world.gateway('a', { endpoint: '198.51.100.1' });
    world.gateway('b', { endpoint: '198.51.100.2', online: false });
    const id = wf.unique('ln');
    world.link(id, 'a', 'b', { a: ['10.1.0.0/24'], b: ['10.2.0.0/24'] });
    const activities = world.activities();
    // Workflow threads take the environment as it is when the worker is created.
    return wf.withWorkers([{ taskQueue: queue, workflows: true, activities }, { taskQueue: hubQueue, activities }], async () => {
      const handle = await wf.client.workflow.start('linkWorkflow', { taskQueue: queue, workflowId: linkWorkflowId(id), args: [{ linkId: id }] });
      try {
        await expect.poll(() => world.row(id).events.map((e) => e.type), { timeout: 10_000, interval: 20 }).toContain('gateway.waiting');
        return await handle.query<string>('__stack_trace');
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    });
  }

  it('off by default: the query is refused (its message, like every failure, is sealed with the payload key)', async () => {
    delete process.env.WORKFLOW_STACK_TRACES;
    await expect(stackOfWaitingLink()).rejects.toThrow(/Encoded failure/);
  });

  it('on: the query shows the link waiting in onGateway, in the source files', async () => {
    process.env.WORKFLOW_STACK_TRACES = 'on';
    const stack = await stackOfWaitingLink();
    expect(stack).toMatch(/onGateway/);
    expect(stack).toMatch(/workflows\/link\/agents\.ts/);
  });
});
