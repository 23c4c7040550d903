// retryRead: throttled or busy reads are retried in place, briefly; anything else, or a read that
// keeps being throttled, reaches the caller (the activity's own retry policy takes over).
import { describe, expect, it } from 'vitest';
import { retryRead } from '../../cloud/read-retry';
import { CloudError } from '../../cloud/types';

const noSleep = async (): Promise<void> => undefined;

describe('retryRead', () => {
  it('retries throttled and busy reads until one passes', async () => {
    const answers: Array<CloudError | string> = [new CloudError('throttled', 'Throttling.User'), new CloudError('busy', 'busy'), 'ok'];
    let calls = 0;
    const r = await retryRead(async () => {
      const a = answers[calls++]!;
      if (a instanceof CloudError) throw a;
      return a;
    }, { sleep: noSleep });
    expect(r).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry other errors, and gives up after the attempts', async () => {
    let calls = 0;
    await expect(retryRead(async () => { calls++; throw new CloudError('not_found', 'gone'); }, { sleep: noSleep })).rejects.toMatchObject({ kind: 'not_found' });
    expect(calls).toBe(1);
    calls = 0;
    await expect(retryRead(async () => { calls++; throw new CloudError('throttled', 'slow down'); }, { attempts: 4, sleep: noSleep })).rejects.toMatchObject({ kind: 'throttled' });
    expect(calls).toBe(4);
  });

  it('waits longer each time, honouring a short server-suggested delay', async () => {
    const waits: number[] = [];
    let calls = 0;
    await retryRead(async () => {
      if (calls++ < 3) throw new CloudError('throttled', 'x', undefined, calls === 3 ? 1500 : undefined);
      return 1;
    }, { baseMs: 100, sleep: async (ms) => void waits.push(ms) });
    expect(waits[0]).toBeGreaterThanOrEqual(75);
    expect(waits[0]).toBeLessThanOrEqual(125);
    expect(waits[1]).toBeGreaterThanOrEqual(150);
    expect(waits[2]).toBeGreaterThanOrEqual(1125);
  });

  it('leaves a long server-suggested pause to the caller (no sleeping for a minute in place)', async () => {
    let calls = 0;
    const waits: number[] = [];
    await expect(retryRead(async () => { calls++; throw new CloudError('throttled', 'x', 'Throttling.User', 55_000); }, { sleep: async (ms) => void waits.push(ms) })).rejects.toMatchObject({ retryAfterMs: 55_000 });
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });
});
