// The link workflow's bookkeeping in the controller's database: quick activities, retried until
// they work.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';

export const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});
