// Long-ish activities (an agent call that waits on charon, a cloud call waiting for its rate-limit
// slot) heartbeat while they wait, so that when the worker running them dies Temporal notices
// within the heartbeat timeout instead of the whole start-to-close timeout, and the workflow moves
// on (re-locates the gateway, retries the call elsewhere) within seconds.
import { Context } from '@temporalio/activity';

export const HEARTBEAT_EVERY_MS = 1000;

export async function heartbeating<T>(work: Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work; // not running as an activity (a direct call): nothing to report to
  }
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
