// The intent sweep's bookkeeping without Temporal or a database: which recorded intents it signals,
// when it signals one again, and what it does when signals fail.
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startIntentSweep, type IntentSweep } from '../../controller/intent-sweep';
import { silentLogger } from '../../lib/log';
import type { PendingIntent, Store } from '../../store';

describe('intent sweep', () => {
  let sweeper: IntentSweep | undefined;
  afterEach(async () => {
    await sweeper?.stop();
  });

  function start(pending: PendingIntent[], signal: (intent: PendingIntent) => Promise<void>) {
    const asked: Array<{ before: Date; take: number }> = [];
    const store = {
      links: {
        pendingIntents: async (before: Date, take: number) => {
          asked.push({ before, take });
          return [...pending];
        },
      },
    } as unknown as Store;
    sweeper = startIntentSweep({ store, signal, log: silentLogger, clock: () => new Date('2030-01-01T00:00:10Z'), everyMs: 3_600_000, graceMs: 5000, perSweep: 7 });
    return { sweeper, asked };
  }

  const intent = (id: string, kind: PendingIntent['intent'], since = new Date('2030-01-01T00:00:00Z')): PendingIntent => ({ id, workflowId: `link-${id}`, intent: kind, since });

  it('signals each pending intent once, older than the grace period, as many as a pass takes', async () => {
    const sent: string[] = [];
    const { sweeper: sweep, asked } = start([intent('l1', 'delete'), intent('l2', 'change')], async (pending) => {
      sent.push(`${pending.workflowId}:${pending.intent}`);
    });
    expect(await sweep.sweep()).toBe(2);
    expect(sent).toEqual(['link-l1:delete', 'link-l2:change']);
    expect(asked[0]).toEqual({ before: new Date('2030-01-01T00:00:05Z'), take: 7 });
    // Delivered: not again while nothing changed.
    expect(await sweep.sweep()).toBe(0);
    expect(sent).toHaveLength(2);
  });

  it('signals again once the link was written to since (a new PATCH)', async () => {
    const pending = [intent('l1', 'change')];
    const sent: string[] = [];
    const { sweeper: sweep } = start(pending, async (item) => {
      sent.push(item.id);
    });
    await sweep.sweep();
    pending[0] = intent('l1', 'change', new Date('2030-01-01T00:00:03Z'));
    expect(await sweep.sweep()).toBe(1);
    expect(sent).toEqual(['l1', 'l1']);
  });

  it('retries after a failure, stopping the pass at the first one; a workflow that is gone is not retried', async () => {
    let down = true;
    const sent: string[] = [];
    const { sweeper: sweep } = start([intent('gone', 'delete'), intent('l1', 'delete'), intent('l2', 'delete')], async (pending) => {
      if (pending.id === 'gone') throw new WorkflowNotFoundError('no such workflow', pending.workflowId, undefined);
      if (down) throw new Error('connection refused');
      sent.push(pending.id);
    });
    expect(await sweep.sweep()).toBe(0);
    expect(sent).toEqual([]);
    down = false;
    expect(await sweep.sweep()).toBe(2);
    expect(sent).toEqual(['l1', 'l2']);
    expect(await sweep.sweep()).toBe(0);
  });
});
