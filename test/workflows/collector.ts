// Stands in for a link workflow as the requester of a serialising workflow (route table, security
// group): keeps every reply it is signalled, by the signal names link workflows listen on, and
// answers them to a query. Workflow code: bundled by test/helpers/workflow-env.ts.
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

/** A result as the serialising workflow sends it. */
export interface ReplyBody {
  requestId: string;
  ok: boolean;
  [field: string]: unknown;
}

export type Reply = ReplyBody & { signal: 'routeResult' | 'ruleResult' };

export const repliesQuery = defineQuery<Reply[]>('replies');

export async function replyCollector(): Promise<void> {
  const replies: Reply[] = [];
  for (const signal of ['routeResult', 'ruleResult'] as const) {
    setHandler(defineSignal<[ReplyBody]>(signal), (reply) => {
      replies.push({ signal, ...reply });
    });
  }
  setHandler(repliesQuery, () => replies);
  await condition(() => false);
}
