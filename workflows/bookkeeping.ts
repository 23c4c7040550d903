// A link's bookkeeping in the controller's database: quick calls, retried until they
// work. Local activities: they run in the worker that runs the workflow task and are recorded in
// that task's completion, so a store call costs no activity task, no extra workflow task and no
// round trip through the Temporal server (docs/decisions.md, "Few tasks per link").
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const store = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});
