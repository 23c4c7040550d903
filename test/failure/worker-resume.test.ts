// Failure: the worker process that last ran a link's workflow is SIGKILLed while another worker
// runs beside it. The link's next workflow task first goes to the dead worker's sticky queue;
// Temporal hands it to the other worker once the sticky schedule-to-start timeout runs out. With
// the default (10 s) every killed controller's links stalled that long (WORKFLOW_TASK_TIMED_OUT
// in their histories); the controller sets it to 2 s (controller/runtime.ts), so a change sent
// right after the kill resumes within 3 s.
//
// Shape: the API and the hub run in the test process (agents stay connected); the workers are
// real child processes (`controller/main.ts` with ROLES=worker): worker A runs the link from its
// creation, worker B starts once the link is up, then A is killed and the link is changed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { temporal as proto } from '@temporalio/proto';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { linkWorkflowId } from '../../contracts/link-workflow';
import { linkTwoOnpremSites, removeDir, type TestAgent } from '../helpers/agents';
import { startTestController, type TestController } from '../helpers/controller';
import { createSqliteTestDb, type TestDb } from '../helpers/db';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { LogDir, dumpLogsOnFailure, startControllerProc, type ControllerProc } from '../helpers/procs';
import { startTestTemporal, temporalCliAvailable, type TestTemporal } from '../helpers/temporal';
import type { ChangedLinkBody, LinkWithEventsBody } from '../helpers/api-harness';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`worker-resume failure test skipped: ${cli.reason}`);

/** The controller's sticky timeout (2 s) plus the workflow task itself; the rest is margin for a loaded machine. */
const RESUME_LIMIT_MS = 3000 + 1500;

const millis = (time: proto.api.history.v1.IHistoryEvent['eventTime']): number => Number(time!.seconds) * 1000 + Math.floor((time!.nanos ?? 0) / 1e6);

describe.runIf(cli.ok)('the worker holding a link is SIGKILLed beside another worker', () => {
  let temporal: TestTemporal;
  let testDb: TestDb;
  let front: TestController;
  let logs: LogDir;
  const workers: ControllerProc[] = [];
  const agents: TestAgent[] = [];
  const secretKey = newSecretKey();
  const taskQueue = `resume-${randomBytes(4).toString('hex')}`;

  const startWorker = async (name: string): Promise<ControllerProc> => {
    const worker = await startControllerProc({ name, logs, roles: ['worker'], temporalAddress: temporal.address, temporalNamespace: temporal.namespace, databaseUrl: testDb.url, taskQueue, secretKey });
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    logs = new LogDir('resume');
    [temporal, testDb] = await Promise.all([startTestTemporal(), createSqliteTestDb()]);
    await testDb.db.$disconnect();
    front = await startTestController({ temporal, databaseUrl: testDb.url, taskQueue, roles: ['api', 'hub'], secretKey: parseSecretKey(secretKey) });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(agents.map((agent) => agent.stop()));
    await Promise.allSettled(workers.map((worker) => worker.stop()));
    await front?.close();
    await temporal?.stop();
    await testDb?.cleanup();
    await Promise.allSettled(agents.map((agent) => removeDir(agent.stateDir)));
    logs?.remove();
  });

  it('resumes the link on the other worker within 3 s of the kill', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const workerA = await startWorker('worker-a');
    const id = await linkTwoOnpremSites(front, new FakeIpsecNetwork(), [['resume-a', '10.93.0.0/24', '198.51.100.93'], ['resume-b', '10.94.0.0/24', '198.51.100.94']], agents, 30_000);

    // Worker B joins only now: every task of the link so far ran on A, whose sticky queue holds it.
    await startWorker('worker-b');
    await workerA.kill('SIGKILL');
    const killedAt = Date.now();
    const change = await front.api<ChangedLinkBody>('PATCH', `/api/links/${id}`, { cidrs: { a: ['10.93.0.0/25'] } });
    expect(change.status).toBe(202);
    await expect.poll(async () => (await front.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body, { timeout: 30_000, interval: 100 }).toMatchObject({ state: 'up', a: { cidrs: ['10.93.0.0/25'] } });
    const appliedMs = Date.now() - killedAt;

    // From the history: the first workflow task completed after the change's signal.
    const history = await front.client.workflow.getHandle(linkWorkflowId(id)).fetchHistory();
    const events = history.events ?? [];
    const signalled = events.findIndex((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'reconfigure' && millis(event.eventTime) >= killedAt - 1000);
    expect(signalled).toBeGreaterThan(-1);
    const resumed = events.slice(signalled).find((event) => event.workflowTaskCompletedEventAttributes);
    expect(resumed).toBeDefined();
    const resumeMs = millis(resumed!.eventTime) - killedAt;
    const timedOut = events.slice(signalled).some((event) => event.workflowTaskTimedOutEventAttributes);
    console.log(`[worker-resume] the link's next workflow task completed ${resumeMs} ms after the kill (sticky timeout hit: ${timedOut}); the change applied after ${appliedMs} ms`);
    expect(resumeMs).toBeLessThan(RESUME_LIMIT_MS);
  }, 180_000);
});
