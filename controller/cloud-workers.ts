// Budget workers: for every (provider, account, region) that has a gateway, one Temporal worker
// per API class on that budget's task queue, with maxTaskQueueActivitiesPerSecond set to the
// budget. Every controller process runs the same set, and the Temporal server enforces each limit
// across all of them. New accounts/regions are picked up by polling the database.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Store } from '../store';
import type { Logger } from '../lib/log';
import { API_CLASSES, budgetFor, budgetQueue, type BudgetOverrides } from '../cloud/budgets';
import type { CloudProviderName } from '../cloud/types';
import { Mutex } from '../lib/mutex';

/** Dispatch gate relative to the budget; see refreshNow. */
export const GATE_FACTOR = 1.5;

export interface CloudWorkersOptions {
  store: Store;
  connection: NativeConnection;
  namespace: string;
  baseQueue: string;
  activities: object;
  /** The controller's data converter (payload encryption) and worker interceptors: the same on every worker. */
  workerOptions: Pick<WorkerOptions, 'dataConverter' | 'interceptors'>;
  budgets: BudgetOverrides;
  log: Logger;
  pollMs?: number;
}

export class CloudWorkers {
  private readonly running = new Map<string, { worker: Worker; done: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly lock = new Mutex();

  constructor(private readonly options: CloudWorkersOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refreshing = this.refresh().catch((err: unknown) => this.options.log.warn('could not refresh cloud budget workers', { err }));
    }, this.options.pollMs ?? 2000);
    this.timer.unref();
  }

  /** Queue names currently served (for tests and diagnostics). */
  queues(): string[] {
    return [...this.running.keys()];
  }

  /** Serialised, so two refreshes never start a worker for the same queue twice. */
  refresh(): Promise<void> {
    return this.lock.run(() => this.refreshNow());
  }

  private async refreshNow(): Promise<void> {
    if (this.stopped) return;
    for (const target of await this.options.store.gateways.budgetTargets()) {
      const provider = target.provider as CloudProviderName;
      for (const api of API_CLASSES) {
        const queue = budgetQueue(this.options.baseQueue, { provider, accountId: target.accountId, region: target.region, api });
        if (this.running.has(queue) || this.stopped) continue;
        const worker = await Worker.create({
          connection: this.options.connection,
          namespace: this.options.namespace,
          taskQueue: queue,
          activities: this.options.activities,
          ...this.options.workerOptions,
          // The server-side gate keeps the backlog in Temporal, shared by every process; the exact
          // limit is the pacer's (cloud/pacer.ts). The gate sits above the budget because the
          // server's limiter is split over task-queue partitions and lets bursts through.
          maxTaskQueueActivitiesPerSecond: budgetFor(provider, api, this.options.budgets) * GATE_FACTOR,
          // One provider call per activity: a few in flight per process is plenty.
          maxConcurrentActivityTaskExecutions: 20,
        });
        this.running.set(queue, { worker, done: worker.run() });
        this.options.log.debug('budget worker started', { queue, perSecond: budgetFor(provider, api, this.options.budgets) });
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing;
    for (const { worker } of this.running.values()) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled([...this.running.values()].map((entry) => entry.done));
  }
}
